using Microsoft.Extensions.Logging;

namespace Referrals.IntegrationTests;

/// <summary>The guard itself: it must catch what the rule forbids and let ids through.</summary>
public class SuiteLogGuardTests
{
    [Theory]
    [InlineData("Referral R-7K3M9-QXD2A sent to jane.doe@example.com", "an email address")]
    [InlineData("Calling +12125550123 now", "a phone number")]
    [InlineData("Calling (212) 555-0123 now", "a phone number")]
    [InlineData("Referral R-7K3M9-QXD2A received (urgent: True)", "the urgent flag next to a reference")]
    public void Personal_data_in_a_message_is_caught(string message, string why)
    {
        Assert.Equal(why, SuiteLogGuard.Violation(message, [], null));
    }

    [Fact]
    public void A_personal_field_in_the_structured_state_is_caught_even_when_the_text_hides_it()
    {
        Assert.Equal("a personal field (Name)", SuiteLogGuard.Violation("Referral R-7K3M9-QXD2A received", [new("ReferralId", "R-7K3M9-QXD2A"), new("Name", "Jane")], null));
    }

    [Fact]
    public void Ids_statuses_and_counts_pass()
    {
        Assert.Null(SuiteLogGuard.Violation("Referral R-7K3M9-QXD2A is Routed (specialist sp-004, assignment 2)", [new("ReferralId", "R-7K3M9-QXD2A"), new("SpecialistId", "sp-004")], null));
        Assert.Null(SuiteLogGuard.Violation("3 urgent submissions counted today", [], null));
    }
}
