using System.Text;
using System.Text.RegularExpressions;
using Referrals.Core.Pages;
using Referrals.Core.Security;

namespace Referrals.Core.Tests;

public class FormStampTests
{
    private static readonly FormStamp Stamp = new(Encoding.UTF8.GetBytes("a-test-key-that-is-long-enough-123"));
    private static readonly DateTimeOffset Rendered = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_form_filled_in_human_time_passes()
    {
        Assert.Equal(StampCheck.Valid, Stamp.Check(Stamp.Create(Rendered), Rendered.AddSeconds(20), TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void A_form_posted_faster_than_the_minimum_fill_time_is_too_fast()
    {
        Assert.Equal(StampCheck.TooFast, Stamp.Check(Stamp.Create(Rendered), Rendered.AddSeconds(1), TimeSpan.FromSeconds(3)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1700000000000")]
    [InlineData("1700000000000.forged")]
    public void Missing_or_forged_stamps_are_invalid(string? stamp)
    {
        Assert.Equal(StampCheck.Invalid, Stamp.Check(stamp, Rendered, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void Moving_the_time_back_breaks_the_signature()
    {
        var genuine = Stamp.Create(Rendered);
        var older = Rendered.AddMinutes(-10).ToUnixTimeMilliseconds() + genuine[genuine.IndexOf('.')..];

        Assert.Equal(StampCheck.Invalid, Stamp.Check(older, Rendered.AddSeconds(1), TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void A_stamp_from_another_key_is_invalid()
    {
        var other = new FormStamp(Encoding.UTF8.GetBytes("another-key-that-is-long-enough-456"));

        Assert.Equal(StampCheck.Invalid, Stamp.Check(other.Create(Rendered), Rendered.AddSeconds(20), TimeSpan.FromSeconds(3)));
    }
}

public class InterestPagesTests
{
    private static FormModel Model(Dictionary<string, string?>? values = null, Dictionary<string, string[]>? errors = null) =>
        new(values ?? [], errors ?? [], "stamp", "nonce123", "/api/referrals");

    [Fact]
    public void The_form_always_shows_the_crisis_resources_and_says_it_is_not_an_emergency_channel()
    {
        var html = InterestPages.RenderForm(Model());

        Assert.Contains("href=\"tel:988\"", html);
        Assert.Contains("988lifeline.org", html);
        Assert.Contains("href=\"tel:911\"", html);
        Assert.Contains("not monitored in real time", html);
        Assert.True(html.IndexOf("crisis-title", StringComparison.Ordinal) < html.IndexOf("<form", StringComparison.Ordinal));
    }

    [Fact]
    public void Errors_are_summarised_linked_to_their_fields_and_tied_with_aria_describedby()
    {
        var html = InterestPages.RenderForm(Model(errors: new() { ["email"] = ["Enter an email address like name@example.com."] }));

        Assert.Contains("<a href=\"#field-email\">Enter an email address like name@example.com.</a>", html);
        Assert.Contains("id=\"email-error\"", html);
        Assert.Contains("aria-describedby=\"email-hint email-error\" aria-invalid=\"true\"", html);
        Assert.Contains("role=\"alert\"", html);
    }

    [Fact]
    public void Values_are_kept_and_encoded()
    {
        var html = InterestPages.RenderForm(Model(new() { ["name"] = "<script>alert(1)</script>", ["state"] = "NY", ["consent"] = "yes", ["message"] = "a & b" }));

        Assert.Contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\"", html);
        Assert.DoesNotContain("<script>alert(1)", html);
        Assert.Contains("<option value=\"NY\" selected>", html);
        Assert.Contains("name=\"consent\" value=\"yes\" checked", html);
        Assert.Contains(">a &amp; b</textarea>", html);
    }

    [Fact]
    public void Scripts_and_styles_carry_the_nonce_and_nothing_is_loaded_from_elsewhere()
    {
        var html = InterestPages.RenderForm(Model());

        Assert.Contains("<script nonce=\"nonce123\">", html);
        Assert.Contains("<style nonce=\"nonce123\">", html);
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("<link", html);
    }

    [Fact]
    public void The_crisis_box_hint_says_exactly_what_ticking_it_does_and_keeps_988_and_911_first()
    {
        var html = InterestPages.RenderForm(Model());
        var hint = Regex.Match(html, "<p class=\"hint\" id=\"urgent-hint\">([^<]*)</p>").Groups[1].Value;

        Assert.Contains("crisis resources straight away", hint);
        Assert.Contains("alert our team by email at once", hint);
        Assert.Contains("offer your request to a specialist ahead of other requests", hint);
        Assert.Contains("not available around the clock", hint);
        Assert.Contains("does not replace calling 988 or 911", hint);
        Assert.DoesNotContain("prioritise", html);
        Assert.Contains("id=\"field-urgent\" name=\"urgent\" value=\"yes\" aria-describedby=\"urgent-hint\"", html);
        Assert.True(html.IndexOf("crisis-title", StringComparison.Ordinal) < html.IndexOf("urgent-hint", StringComparison.Ordinal));
    }

    [Fact]
    public void The_urgent_thank_you_page_says_what_is_happening_now_not_what_has_happened()
    {
        var urgent = InterestPages.RenderThanks("R-7K3M9-QXD2A", urgent: true, "n");
        var calm = InterestPages.RenderThanks("R-7K3M9-QXD2A", urgent: false, "n");

        Assert.Contains("We are alerting our team by email now and will offer your request to a specialist ahead of other requests.", urgent);
        Assert.DoesNotContain("has been told", urgent);
        Assert.DoesNotContain("alerting", calm);
        Assert.True(urgent.IndexOf("tel:988", StringComparison.Ordinal) < urgent.IndexOf("alerting our team", StringComparison.Ordinal));
    }

    [Fact]
    public void The_specialist_page_marks_an_urgent_referral_and_only_that()
    {
        var details = new ReferralDetails("R-7K3M9-QXD2A", "Jane Doe", "jane@example.com", null, "Email", "NY", "oral-ketamine", null, null, "Either", null, Urgent: true);

        var urgent = SpecialistPages.RenderReferral(details, "tok", "/api/specialist/respond", "n");
        var calm = SpecialistPages.RenderReferral(details with { Urgent = false }, "tok", "/api/specialist/respond", "n");

        Assert.Contains("<p class=\"urgent\"><strong>Urgent:</strong>", urgent);
        Assert.True(urgent.IndexOf("class=\"urgent\"", StringComparison.Ordinal) < urgent.IndexOf("<dl>", StringComparison.Ordinal));
        Assert.DoesNotContain("Urgent:", calm);
    }

    [Fact]
    public void The_thank_you_page_leads_with_crisis_resources_when_the_visitor_is_at_risk()
    {
        var calm = InterestPages.RenderThanks("R-7K3M9-QXD2A", urgent: false, "n");
        var urgent = InterestPages.RenderThanks("R-7K3M9-QXD2A", urgent: true, "n");

        Assert.Contains("R-7K3M9-QXD2A", calm);
        Assert.Contains("Initial assessment", calm);
        Assert.True(calm.IndexOf("What happens next", StringComparison.Ordinal) < calm.IndexOf("crisis-title", StringComparison.Ordinal));
        Assert.True(urgent.IndexOf("crisis-title", StringComparison.Ordinal) < urgent.IndexOf("What happens next", StringComparison.Ordinal));
    }
}
