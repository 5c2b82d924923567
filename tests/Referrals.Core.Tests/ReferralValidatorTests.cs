using Referrals.Core.Referrals;

namespace Referrals.Core.Tests;

public class ReferralValidatorTests
{
    private static ReferralSubmission Valid() => new("Jane Doe", "jane@example.com", "ny", "iv-ketamine-infusion", true);

    [Fact]
    public void A_complete_submission_is_valid_and_normalised()
    {
        var outcome = ReferralValidator.Validate(Valid() with { Name = "  Jane Doe ", Email = " jane@example.com " });

        Assert.True(outcome.IsValid);
        Assert.Equal(new ValidReferral("Jane Doe", "jane@example.com", "NY", "iv-ketamine-infusion"), outcome.Referral);
    }

    [Fact]
    public void An_empty_submission_reports_every_missing_field()
    {
        var outcome = ReferralValidator.Validate(new ReferralSubmission(null, null, null, null, null));

        Assert.False(outcome.IsValid);
        Assert.Equal(["consent", "email", "name", "state", "treatment"], outcome.Errors.Keys.Order());
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("jane@localhost")]
    [InlineData("Jane <jane@example.com>")]
    [InlineData("jane@example.com\r\nBcc: x@example.com")]
    public void Bad_email_addresses_are_rejected(string email)
    {
        var outcome = ReferralValidator.Validate(Valid() with { Email = email });

        Assert.Contains("email", outcome.Errors.Keys);
    }

    [Fact]
    public void A_name_with_a_line_break_is_rejected()
    {
        Assert.Contains("name", ReferralValidator.Validate(Valid() with { Name = "Jane\nDoe" }).Errors.Keys);
    }

    [Fact]
    public void An_over_long_name_is_rejected()
    {
        Assert.Contains("name", ReferralValidator.Validate(Valid() with { Name = new string('a', ReferralValidator.MaxNameLength + 1) }).Errors.Keys);
    }

    [Theory]
    [InlineData("XX")]
    [InlineData("New York")]
    public void Unknown_states_are_rejected(string state)
    {
        Assert.Contains("state", ReferralValidator.Validate(Valid() with { State = state }).Errors.Keys);
    }

    [Fact]
    public void Unknown_treatments_are_rejected()
    {
        Assert.Contains("treatment", ReferralValidator.Validate(Valid() with { Treatment = "psilocybin" }).Errors.Keys);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(null)]
    public void Consent_is_required(bool? consent)
    {
        Assert.Contains("consent", ReferralValidator.Validate(Valid() with { Consent = consent }).Errors.Keys);
    }
}
