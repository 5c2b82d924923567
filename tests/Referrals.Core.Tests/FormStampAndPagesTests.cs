using System.Text;
using System.Text.RegularExpressions;
using Referrals.Core.Pages;
using Referrals.Core.Security;

namespace Referrals.Core.Tests;

internal static class TestRing
{
    public static KeyRing With(string id, string secret) => new(id, new Dictionary<string, string> { [id] = secret });
}

public class FormStampTests
{
    private static readonly FormStamp Stamp = new(TestRing.With("k1", "a-test-key-that-is-long-enough-123"));
    private static readonly DateTimeOffset Rendered = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MinimumFillTime = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(2);

    private static StampResult Check(string? stamp, DateTimeOffset now) => Stamp.Check(stamp, now, MinimumFillTime, Lifetime);

    [Fact]
    public void A_form_filled_in_human_time_passes_with_the_stamps_id()
    {
        var result = Check(Stamp.Create(Rendered), Rendered.AddSeconds(20));

        Assert.Equal(StampCheck.Valid, result.Check);
        Assert.False(string.IsNullOrEmpty(result.Id));
    }

    [Fact]
    public void Each_stamp_has_its_own_id_even_for_the_same_render_time()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => Check(Stamp.Create(Rendered), Rendered.AddSeconds(20)).Id).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void A_form_posted_faster_than_the_minimum_fill_time_is_too_fast()
    {
        Assert.Equal(StampCheck.TooFast, Check(Stamp.Create(Rendered), Rendered.AddSeconds(1)).Check);
    }

    [Fact]
    public void A_stamp_from_a_little_ahead_of_this_clock_is_too_fast_not_forged()
    {
        Assert.Equal(StampCheck.TooFast, Check(Stamp.Create(Rendered.AddMilliseconds(200)), Rendered).Check);
    }

    [Fact]
    public void A_form_sent_after_the_stamps_lifetime_has_expired()
    {
        Assert.Equal(StampCheck.Valid, Check(Stamp.Create(Rendered), Rendered + Lifetime - TimeSpan.FromSeconds(1)).Check);
        Assert.Equal(StampCheck.Expired, Check(Stamp.Create(Rendered), Rendered + Lifetime + TimeSpan.FromSeconds(1)).Check);
    }

    [Fact]
    public void A_stamp_without_a_key_id_or_naming_a_key_the_ring_does_not_hold_is_forged()
    {
        var time = Rendered.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var unknown = new FormStamp(TestRing.With("k0", "an-old-key-that-is-long-enough-789")).Create(Rendered);

        Assert.Equal(StampCheck.Invalid, Check($"{time}.id.signature", Rendered.AddSeconds(20)).Check);
        Assert.Equal(StampCheck.Invalid, Check(unknown, Rendered.AddSeconds(20)).Check);
    }

    [Fact]
    public void After_a_rotation_a_stamp_signed_with_the_previous_key_still_passes()
    {
        var rotated = new FormStamp(new KeyRing("k2", new Dictionary<string, string> { ["k2"] = "the-new-key-that-is-long-enough-000", ["k1"] = "a-test-key-that-is-long-enough-123" }));

        Assert.Equal(StampCheck.Valid, rotated.Check(Stamp.Create(Rendered), Rendered.AddSeconds(20), MinimumFillTime, Lifetime).Check);
        Assert.StartsWith("k2.", rotated.Create(Rendered));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1700000000000")]
    [InlineData("k1.1700000000000.id.forged")]
    [InlineData("k1.a.b.c.d")]
    public void Missing_or_forged_stamps_are_invalid(string? stamp)
    {
        Assert.Equal(StampCheck.Invalid, Check(stamp, Rendered).Check);
    }

    [Fact]
    public void Moving_the_time_back_breaks_the_signature()
    {
        var parts = Stamp.Create(Rendered).Split('.');
        var older = $"{parts[0]}.{Rendered.AddMinutes(-10).ToUnixTimeMilliseconds()}.{parts[2]}.{parts[3]}";

        Assert.Equal(StampCheck.Invalid, Check(older, Rendered.AddSeconds(1)).Check);
    }

    [Fact]
    public void Changing_the_id_breaks_the_signature()
    {
        var parts = Stamp.Create(Rendered).Split('.');

        Assert.Equal(StampCheck.Invalid, Check($"{parts[0]}.{parts[1]}.AAAAAAAAAAAAAAAA.{parts[3]}", Rendered.AddSeconds(20)).Check);
    }

    [Fact]
    public void A_stamp_signed_with_another_secret_under_the_same_key_id_is_invalid()
    {
        var other = new FormStamp(TestRing.With("k1", "another-key-that-is-long-enough-456"));

        Assert.Equal(StampCheck.Invalid, Check(other.Create(Rendered), Rendered.AddSeconds(20)).Check);
    }
}

public class ThanksTokenTests
{
    private static readonly KeyRing Key = TestRing.With("k1", "a-test-key-that-is-long-enough-123");
    private static readonly ThanksToken Token = new(Key);
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_token_carries_the_reference_and_the_crisis_flag_until_it_expires(bool urgent)
    {
        var token = Token.Create(new ThanksNote("R-7K3M9-QXD2A", urgent), Now.AddMinutes(15));

        Assert.Equal(new ThanksNote("R-7K3M9-QXD2A", urgent), Token.Read(token, Now.AddMinutes(14)));
        Assert.Null(Token.Read(token, Now.AddMinutes(15)));
    }

    [Fact]
    public void A_changed_reference_flag_or_expiry_is_refused()
    {
        var token = Token.Create(new ThanksNote("R-7K3M9-QXD2A", false), Now.AddMinutes(15));
        var parts = token.Split('.');

        Assert.Null(Token.Read(token.Replace("R-7K3M9-QXD2A", "R-7K3M9-QXD2B"), Now));
        Assert.Null(Token.Read($"{parts[0]}.{parts[1]}.1.{parts[3]}.{parts[4]}", Now));
        Assert.Null(Token.Read($"{parts[0]}.{parts[1]}.{parts[2]}.{long.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture) + 3600}.{parts[4]}", Now));
        Assert.Null(Token.Read($"k9.{parts[1]}.{parts[2]}.{parts[3]}.{parts[4]}", Now));
        Assert.Null(Token.Read(null, Now));
        Assert.Null(Token.Read("R-7K3M9-QXD2A", Now));
    }

    [Fact]
    public void Neither_another_key_nor_a_form_stamp_passes_for_a_token()
    {
        var other = new ThanksToken(TestRing.With("k1", "another-key-that-is-long-enough-456"));
        var stamp = new FormStamp(Key).Create(Now);

        Assert.Null(Token.Read(other.Create(new ThanksNote("R-7K3M9-QXD2A", true), Now.AddMinutes(15)), Now));
        Assert.Null(Token.Read(stamp, Now));
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
    public void A_notice_is_shown_above_the_form_in_an_alert_that_the_script_focuses()
    {
        var html = InterestPages.RenderForm(Model(new() { ["name"] = "Jane" }) with { Notice = FormNotice.SendAgain });

        Assert.Contains("id=\"form-notice\" role=\"alert\" tabindex=\"-1\"", html);
        Assert.Contains("Please check your details", html);
        Assert.True(html.IndexOf("form-notice", StringComparison.Ordinal) < html.IndexOf("<form", StringComparison.Ordinal));
        Assert.Contains("getElementById('form-notice')", html);
        Assert.Contains("value=\"Jane\"", html);
        Assert.DoesNotContain("id=\"form-notice\"", InterestPages.RenderForm(Model()));
    }

    [Fact]
    public void The_thank_you_page_without_a_reference_says_thank_you_and_names_nothing()
    {
        var html = InterestPages.RenderThanks(null, urgent: false, "n");

        Assert.Contains("Thank you: we received your request", html);
        Assert.DoesNotContain("class=\"reference\"", html);
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

    [Fact]
    public void The_thank_you_page_does_not_claim_an_email_was_sent()
    {
        // The same page follows a repeat (whose notice names the earlier reference) and a confirmation held back by the
        // daily cap, so it may only say where our emails go, not that one went.
        var page = InterestPages.RenderThanks("R-7K3M9-QXD2A", urgent: false, "n");

        Assert.DoesNotContain("emailed", page, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Our emails about your request go to the address you gave.", page);
    }
}
