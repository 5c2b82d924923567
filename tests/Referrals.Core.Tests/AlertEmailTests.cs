using Referrals.Core.Email;

namespace Referrals.Core.Tests;

/// <summary>Operator alerts and digests: references, queues and links only, one wording per condition.</summary>
public class AlertEmailTests
{
    private const string Reference = "R-7K3M9-QXD2A";
    private const string Link = "https://x.test/api/ops#referral=R-7K3M9-QXD2A";

    private static readonly Dictionary<string, string> Facts = new()
    {
        [AlertWording.Queue] = "referral-notifications", [AlertWording.SpecialistId] = "sp-007",
        [AlertWording.Event] = "bounce", [AlertWording.Email] = "SpecialistNewReferral", [AlertWording.Waited] = "1 hour",
    };

    public static TheoryData<AlertCondition> Conditions() => [.. Enum.GetValues<AlertCondition>()];

    [Theory]
    [MemberData(nameof(Conditions))]
    public void Every_condition_has_an_alert_with_the_reference_and_the_dashboard_link(AlertCondition condition)
    {
        var email = EmailContent.OperatorAlert(condition, Reference, $"{condition}-{Reference}", "ops@example.org", Facts, Link, TimeSpan.FromMinutes(15));

        Assert.Equal(EmailKind.OperatorAlert, email.Kind);
        Assert.Equal($"OperatorAlert-{condition}-{Reference}", email.LedgerKey);
        Assert.StartsWith($"Referral {Reference}", email.Subject, StringComparison.Ordinal);
        Assert.Contains(Link, email.Text);
        Assert.Contains($"href=\"{Link}\"", email.Html);
        Assert.Contains("next 15 minutes come together in one digest", email.Text);
        Assert.NotEmpty(AlertWording.DigestTitle(condition));
    }

    [Fact]
    public void The_poison_and_sla_alerts_keep_the_subjects_operators_know()
    {
        Assert.Equal($"Referral {Reference} failed",
            EmailContent.OperatorAlert(AlertCondition.Poison, Reference, "k", "ops@example.org", Facts, Link, TimeSpan.Zero).Subject);
        Assert.Equal($"Referral {Reference}: no answer from sp-007",
            EmailContent.OperatorAlert(AlertCondition.SlaBreach, Reference, "k", "ops@example.org", Facts, Link, TimeSpan.Zero).Subject);
    }

    [Fact]
    public void Without_a_quiet_period_the_alert_does_not_promise_a_digest()
    {
        var email = EmailContent.OperatorAlert(AlertCondition.Triage, Reference, "k", "ops@example.org", Facts, Link, TimeSpan.Zero);

        Assert.Contains("sent on its own", email.Text);
        Assert.DoesNotContain("digest", email.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_digest_names_every_reference_with_its_link_and_counts_them()
    {
        var entries = Enumerable.Range(0, 19).Select(i => new AlertDigestEntry($"R-00000-{i:D5}", "referral-intake", $"https://x.test/api/ops#referral=R-00000-{i:D5}")).ToList();

        var digest = EmailContent.OperatorAlertDigest(AlertCondition.Poison, "Poison-digest-7", "ops@example.org", entries);

        Assert.Equal(EmailKind.OperatorAlertDigest, digest.Kind);
        Assert.Equal("OperatorAlertDigest-Poison-digest-7", digest.LedgerKey);
        Assert.Equal("19 referrals failed (from R-00000-00000)", digest.Subject);
        foreach (var entry in entries)
        {
            Assert.Contains($"- {entry.Reference} (referral-intake): {entry.Link}", digest.Text);
            Assert.Contains($"<li><a href=\"{entry.Link}\">{entry.Reference} (referral-intake)</a></li>", digest.Html);
        }
    }

    [Fact]
    public void A_digest_encodes_what_it_lists_in_its_html()
    {
        var digest = EmailContent.OperatorAlertDigest(AlertCondition.Triage, "d", "ops@example.org", [new("R-<b>", null, "https://x.test/?a=1&b=\"2\"")]);

        Assert.Contains("<li><a href=\"https://x.test/?a=1&amp;b=&quot;2&quot;\">R-&lt;b&gt;</a></li>", digest.Html);
        Assert.DoesNotContain("<b>", digest.Html);
    }

    [Fact]
    public void An_empty_digest_is_refused()
    {
        Assert.Throws<ArgumentException>(() => EmailContent.OperatorAlertDigest(AlertCondition.Poison, "d", "ops@example.org", []));
    }
}
