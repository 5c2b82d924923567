using System.Text.RegularExpressions;
using Referrals.Core.Email;
using Referrals.Core.Referrals;

namespace Referrals.Core.Tests;

public class EmailContentTests
{
    private const string PrivacyUrl = "https://x.test/api/privacy";

    private static readonly Referral Referral =
        new("R-7K3M9-QXD2A", "<b>Jane</b> O'Neil", "jane@example.com", "NY", Treatments.Esketamine.Code, ReferralStatus.Routed, DateTimeOffset.UnixEpoch, "sp-001");

    public static TheoryData<EmailMessage> AllEmails() =>
    [
        EmailContent.VisitorConfirmation(Referral, "https://x.test/api/withdraw?t=abc", PrivacyUrl),
        EmailContent.SpecialistNewReferral(Referral, "dr@example.org", "Dr Who", 1, "https://x.test/api/specialist/respond?t=abc", DateTimeOffset.UnixEpoch),
        EmailContent.SpecialistReminder(Referral, "dr@example.org", "Dr Who", 1, "https://x.test/api/specialist/respond?t=abc"),
        EmailContent.VisitorAccepted(Referral, "Dr Who", "Phone", PrivacyUrl),
        EmailContent.TriageNotice(Referral, "triage@example.org", "https://x.test/api/triage/referral?t=abc"),
        EmailContent.OperatorAlert(AlertCondition.Poison, Referral.Id, "Poison-R-7K3M9-QXD2A-referral-intake", "ops@example.org",
            new Dictionary<string, string> { [AlertWording.Queue] = "referral-intake" }, "https://x.test/api/ops#referral=R-7K3M9-QXD2A", TimeSpan.FromMinutes(15)),
        EmailContent.OperatorAlertDigest(AlertCondition.Poison, "Poison-digest-1", "ops@example.org",
            [new(Referral.Id, "referral-intake", "https://x.test/api/ops#referral=R-7K3M9-QXD2A"), new("R-00000-11111", null, "https://x.test/api/ops#referral=R-00000-11111")]),
        EmailContent.UrgentAlert(Referral.Id, "ops@example.org", "https://x.test/api/review/referral?t=abc"),
        EmailContent.DuplicateNotice(Referral, "R-00000-11111", "https://x.test/api/withdraw?t=abc"),
        EmailContent.SpecialistWithdrawn(Referral.Id, "dr@example.org", "Dr Who"),
    ];

    [Theory]
    [MemberData(nameof(AllEmails))]
    public void Every_email_carries_the_reference_and_no_health_details(EmailMessage email)
    {
        Assert.Contains(Referral.Id, email.Subject);
        Assert.Contains(Referral.Id, email.Text);
        Assert.Contains(Referral.Id, email.Html);
        foreach (var part in new[] { email.Subject, email.Text, email.Html })
        {
            Assert.DoesNotContain("esketamine", part, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("New York", part);
            Assert.DoesNotContain(Referral.Email, part);
        }

        Assert.DoesNotContain("Jane", email.Subject);
    }

    [Fact]
    public void The_duplicate_notice_goes_to_the_owner_says_there_is_nothing_to_do_and_is_keyed_per_repeat()
    {
        var email = EmailContent.DuplicateNotice(Referral, "R-00000-11111", "https://x.test/api/withdraw?t=abc");

        Assert.Equal(EmailKind.DuplicateNotice, email.Kind);
        Assert.Equal("jane@example.com", email.ToAddress);
        Assert.Contains("nothing else you need to do", email.Text);
        Assert.Contains("https://x.test/api/withdraw?t=abc", email.Text);
        Assert.Contains("988", email.Text);
        Assert.Equal("DuplicateNotice-R-00000-11111", email.LedgerKey);
        Assert.DoesNotContain("R-00000-11111", email.Text + email.Html + email.Subject);
    }

    [Fact]
    public void Visitor_values_are_html_encoded()
    {
        var email = EmailContent.VisitorConfirmation(Referral, "https://x.test/api/withdraw?t=abc", PrivacyUrl);

        Assert.Contains("&lt;b&gt;Jane&lt;/b&gt; O&#39;Neil", email.Html);
        Assert.DoesNotContain("<b>Jane</b>", email.Html);
    }

    [Fact]
    public void The_visitor_confirmation_shows_crisis_resources()
    {
        var email = EmailContent.VisitorConfirmation(Referral, "https://x.test/api/withdraw?t=abc", PrivacyUrl);

        Assert.Contains("988", email.Text);
        Assert.Contains("911", email.Html);
        Assert.Equal("jane@example.com", email.ToAddress);
    }

    [Fact]
    public void The_visitor_confirmation_leads_with_the_crisis_resources_and_never_mentions_urgency()
    {
        var email = EmailContent.VisitorConfirmation(Referral, "https://x.test/api/withdraw?t=abc", PrivacyUrl);

        foreach (var part in new[] { email.Text, email.Html })
        {
            Assert.True(part.IndexOf("988", StringComparison.Ordinal) < part.IndexOf("Thank you", StringComparison.Ordinal), part);
            Assert.Single(Regex.Matches(part, "988lifeline"));
        }

        // One wording for everyone: an email leaves our control, so it must not tell who ticked the crisis box.
        foreach (var word in new[] { "urgent", "priorit", "alert", "ahead of" })
        {
            Assert.DoesNotContain(word, email.Subject + email.Text + email.Html, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void The_urgent_alert_carries_the_reference_and_the_signed_link_only_and_does_not_say_why()
    {
        var email = EmailContent.UrgentAlert("R-7K3M9-QXD2A", "ops@example.org", "https://x.test/api/review/referral?t=tok");

        Assert.Equal(EmailKind.UrgentAlert, email.Kind);
        Assert.Equal("UrgentAlert", email.LedgerKey); // once per referral, whatever the assignment
        Assert.Equal("ops@example.org", email.ToAddress);
        Assert.Equal("Priority referral R-7K3M9-QXD2A needs attention now", email.Subject);
        Assert.Contains("https://x.test/api/review/referral?t=tok", email.Text);
        Assert.Contains("href=\"https://x.test/api/review/referral?t=tok\"", email.Html);
        foreach (var word in new[] { "harm", "suicid", "crisis", "self", "988", "urgent", "risk" })
        {
            Assert.DoesNotContain(word, email.Subject + email.Text + email.Html, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void The_specialist_email_does_not_reveal_the_crisis_flag()
    {
        var email = EmailContent.SpecialistNewReferral(Referral, "dr@example.org", "Dr Who", 1, "https://x.test/r?t=tok", DateTimeOffset.UnixEpoch.AddHours(4));

        Assert.Contains("Thursday 1 January, 04:00 UTC", email.Text);
        foreach (var word in new[] { "urgent", "priorit", "harm", "crisis", "988" })
        {
            Assert.DoesNotContain(word, email.Subject + email.Text + email.Html, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void The_specialist_email_links_to_the_referral_page_accept_and_decline_and_holds_nothing_else()
    {
        var email = EmailContent.SpecialistNewReferral(Referral, "dr@example.org", "Dr Who", 2, "https://x.test/r?t=tok", DateTimeOffset.UnixEpoch);

        Assert.Contains("https://x.test/r?t=tok#accept", email.Text);
        Assert.Contains("https://x.test/r?t=tok#decline", email.Html);
        Assert.Equal("SpecialistNewReferral-2", email.LedgerKey);
        Assert.DoesNotContain(Referral.Name, email.Text);
        Assert.DoesNotContain(Referral.Email, email.Html);
    }

    [Fact]
    public void Both_visitor_emails_link_to_the_privacy_notice()
    {
        foreach (var email in new[]
        {
            EmailContent.VisitorConfirmation(Referral, "https://x.test/api/withdraw?t=abc", PrivacyUrl),
            EmailContent.VisitorAccepted(Referral, "Dr Who", "Email", PrivacyUrl),
        })
        {
            Assert.Contains($"How we handle your details: {PrivacyUrl}", email.Text);
            Assert.Contains($"<a href=\"{PrivacyUrl}\">How we handle your details (privacy notice)</a>", email.Html);
        }
    }

    [Fact]
    public void The_withdrawal_notice_names_the_reference_only_and_is_sent_once_per_referral()
    {
        var email = EmailContent.SpecialistWithdrawn(Referral.Id, "dr@example.org", "Dr Who");

        Assert.Equal(EmailKind.SpecialistWithdrawn, email.Kind);
        Assert.Equal($"Referral {Referral.Id} withdrawn", email.Subject);
        Assert.Equal("SpecialistWithdrawn", email.LedgerKey);
        Assert.Equal("dr@example.org", email.ToAddress);
        Assert.DoesNotContain("http", email.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Templates_fail_loudly_when_a_value_is_missing()
    {
        Assert.Throws<KeyNotFoundException>(() => EmailTemplates.Render("TriageNotice", new Dictionary<string, string> { ["reference"] = "R-1" }));
    }
}
