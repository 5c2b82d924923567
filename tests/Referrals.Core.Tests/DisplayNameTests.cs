using Referrals.Core.Email;

namespace Referrals.Core.Tests;

public class DisplayNameTests
{
    [Theory]
    [InlineData("Doe, Jane", "Doe Jane")]
    [InlineData("Jane; Bob", "Jane Bob")]
    [InlineData("\"Jane\" <jane@example.com>", "Jane jane@example.com")]
    [InlineData("Jane\u202EeoD", "Jane eoD")]
    [InlineData("José  Núñez", "José Núñez")]
    [InlineData("Ada Lovelace", "Ada Lovelace")]
    public void Separators_quotes_and_invisible_characters_are_cleaned_out(string name, string expected)
    {
        Assert.Equal(expected, DisplayName.Clean(name));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("   ")]
    [InlineData(",;")]
    public void A_name_with_nothing_left_is_left_out(string? name)
    {
        Assert.Null(DisplayName.Clean(name));
    }
}
