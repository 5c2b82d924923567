using Referrals.Core.Referrals;

namespace Referrals.Core.Tests;

public class ReferralValidatorTests
{
    private static ReferralSubmission Valid() => new("Jane Doe", "jane@example.com", "ny", "iv-ketamine-infusion", true, PrivacyAcknowledged: true, Adult: true);

    [Fact]
    public void A_complete_submission_is_valid_and_normalised()
    {
        var outcome = ReferralValidator.Validate(Valid() with { Name = "  Jane Doe ", Email = " jane@example.com " });

        Assert.True(outcome.IsValid);
        Assert.Equal(new ValidReferral("Jane Doe", "jane@example.com", "NY", "iv-ketamine-infusion"), outcome.Referral! with { Source = null });
    }

    [Fact]
    public void An_empty_submission_reports_every_missing_field()
    {
        var outcome = ReferralValidator.Validate(new ReferralSubmission(null, null, null, null, null));

        Assert.False(outcome.IsValid);
        Assert.Equal(["adult", "consent", "email", "name", "privacyAcknowledged", "state", "treatment"], outcome.Errors.Keys.Order());
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

    [Theory]
    [InlineData("(212) 555-0123", "+12125550123")]
    [InlineData("212.555.0123", "+12125550123")]
    [InlineData("+44 20 7946 0958", "+442079460958")]
    public void Phone_numbers_are_normalised_to_e164(string phone, string e164)
    {
        Assert.Equal(e164, ReferralValidator.Validate(Valid() with { Phone = phone }).Referral?.Phone);
    }

    [Theory]
    [InlineData("123")]
    [InlineData("call me maybe")]
    public void Invalid_phone_numbers_are_rejected(string phone)
    {
        Assert.Contains("phone", ReferralValidator.Validate(Valid() with { Phone = phone }).Errors.Keys);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("text")]
    public void Calling_or_texting_needs_a_phone_number(string method)
    {
        Assert.Contains("phone", ReferralValidator.Validate(Valid() with { ContactMethod = method }).Errors.Keys);
        Assert.True(ReferralValidator.Validate(Valid() with { ContactMethod = method, Phone = "2125550123" }).IsValid);
    }

    [Theory]
    [InlineData("name", "Jane\rDoe")]
    [InlineData("insurance", "Aetna\nBcc")]
    [InlineData("name", "Jane\u0000Doe")]
    [InlineData("insurance", "Aetna\u001b[31m")]
    public void Single_line_fields_refuse_line_breaks_and_control_characters(string field, string escaped)
    {
        var value = System.Text.RegularExpressions.Regex.Unescape(escaped);
        var submission = field == "name" ? Valid() with { Name = value } : Valid() with { Insurance = value };

        Assert.Contains(field, ReferralValidator.Validate(submission).Errors.Keys);
    }

    [Fact]
    public void The_message_keeps_line_breaks_but_not_other_control_characters_or_excess_length()
    {
        Assert.Equal("line one\nline two", ReferralValidator.Validate(Valid() with { Message = "line one\nline two" }).Referral?.Message);
        Assert.Contains("message", ReferralValidator.Validate(Valid() with { Message = "bell\u0007" }).Errors.Keys);
        Assert.Contains("message", ReferralValidator.Validate(Valid() with { Message = new string('a', 1001) }).Errors.Keys);
        Assert.True(ReferralValidator.Validate(Valid() with { Message = new string('a', 1000) }).IsValid);
    }

    [Fact]
    public void Privacy_acknowledgement_and_age_are_required()
    {
        var outcome = ReferralValidator.Validate(Valid() with { PrivacyAcknowledged = false, Adult = null });

        Assert.Contains("privacyAcknowledged", outcome.Errors.Keys);
        Assert.Contains("adult", outcome.Errors.Keys);
    }

    [Fact]
    public void Source_attribution_is_kept_and_an_unknown_topic_is_refused()
    {
        var utm = new Dictionary<string, string> { ["utm_source"] = "blog", ["utm_campaign"] = "autumn" };
        var valid = ReferralValidator.Validate(Valid() with { Topic = "IV-Ketamine-Infusion", Post = "ketamine-therapy", Utm = utm });

        Assert.Equal("iv-ketamine-infusion", valid.Referral!.Source!.Topic);
        Assert.Equal("ketamine-therapy", valid.Referral.Source.Post);
        Assert.Equal(utm, valid.Referral.Source!.Utm);
        Assert.Contains("topic", ReferralValidator.Validate(Valid() with { Topic = "miracle-cure" }).Errors.Keys);
        Assert.Contains("utm", ReferralValidator.Validate(Valid() with { Utm = new Dictionary<string, string> { ["utm_evil"] = "x" } }).Errors.Keys);
    }

    [Fact]
    public void The_urgent_flag_is_carried()
    {
        Assert.True(ReferralValidator.Validate(Valid() with { Urgent = true }).Referral!.Urgent);
        Assert.False(ReferralValidator.Validate(Valid()).Referral!.Urgent);
    }
}
