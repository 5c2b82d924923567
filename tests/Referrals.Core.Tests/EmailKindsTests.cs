using Referrals.Core.Email;

namespace Referrals.Core.Tests;

public class EmailKindsTests
{
    [Fact]
    public void Every_kind_has_exactly_one_description()
    {
        Assert.Equal(Enum.GetValues<EmailKind>().Order(), EmailKinds.All.Select(k => k.Kind).Order());
        Assert.All(Enum.GetValues<EmailKind>(), kind => Assert.Equal(kind, EmailKinds.Of(kind).Kind));
    }

    [Fact]
    public void Every_kind_has_its_three_template_files_embedded_and_every_template_belongs_to_a_kind()
    {
        var names = typeof(EmailTemplates).Assembly.GetManifestResourceNames().ToHashSet(StringComparer.Ordinal);
        Assert.All(EmailKinds.All, info =>
        {
            var (subject, text, html) = EmailTemplates.FilesFor(info.Template);
            Assert.Contains(EmailTemplates.ResourcePrefix + subject, names);
            Assert.Contains(EmailTemplates.ResourcePrefix + text, names);
            Assert.Contains(EmailTemplates.ResourcePrefix + html, names);
        });

        // A template no kind uses is wording nobody receives: a renamed or removed kind left it behind.
        var templates = names.Where(n => n.StartsWith(EmailTemplates.ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".subject.txt", StringComparison.Ordinal))
            .Select(n => n[EmailTemplates.ResourcePrefix.Length..^".subject.txt".Length]);
        Assert.Equal(EmailKinds.All.Select(k => k.Template).Order(), templates.Order());
    }

    [Fact]
    public void The_content_covers_every_kind()
    {
        Assert.Equal(Enum.GetValues<EmailKind>().Order(), ((IEnumerable<object[]>)EmailContentTests.AllEmails()).Select(row => ((EmailMessage)row[0]).Kind).Order());
    }

    [Theory]
    [MemberData(nameof(EmailContentTests.AllEmails), MemberType = typeof(EmailContentTests))]
    public void Every_email_is_keyed_and_addressed_as_its_description_says(EmailMessage email)
    {
        var info = EmailKinds.Of(email.Kind);

        Assert.Same(info, EmailKinds.ForLedgerKey(email.LedgerKey));
        Assert.Equal(info.RepeatsPer == EmailScope.Referral, email.LedgerKey == email.Kind.ToString());
        // Bounces of a Visitor email mark the referral unreachable: only the person who asked may be one.
        var expectedAddress = info.Recipient switch
        {
            EmailRecipient.Visitor => "jane@example.com",
            EmailRecipient.Specialist => "dr@example.org",
            EmailRecipient.Triage => "triage@example.org",
            EmailRecipient.Operators => "ops@example.org",
            _ => throw new ArgumentOutOfRangeException(nameof(email)),
        };
        Assert.Equal(expectedAddress, email.ToAddress);
    }

    [Fact]
    public void A_ledger_key_takes_a_scope_exactly_when_the_kind_repeats()
    {
        Assert.Equal("UrgentAlert", EmailKinds.Of(EmailKind.UrgentAlert).LedgerKey());
        Assert.Equal("TriageNotice-3", EmailKinds.Of(EmailKind.TriageNotice).LedgerKey("3"));
        Assert.Equal("OperatorAlert-Poison-R-1-referral-intake", EmailKinds.Of(EmailKind.OperatorAlert).LedgerKey("Poison-R-1-referral-intake"));
        Assert.Throws<ArgumentException>(() => EmailKinds.Of(EmailKind.UrgentAlert).LedgerKey("2"));
        Assert.Throws<ArgumentException>(() => EmailKinds.Of(EmailKind.SpecialistReminder).LedgerKey());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Nope")]
    [InlineData("3")]
    [InlineData("visitorconfirmation")]
    [InlineData("VisitorConfirmation-1")] // once per referral: never scoped
    [InlineData("SpecialistNewReferral")] // per assignment: always scoped
    [InlineData("-VisitorConfirmation")]
    public void A_ledger_key_that_is_not_ours_names_no_kind(string? ledgerKey)
    {
        Assert.Null(EmailKinds.ForLedgerKey(ledgerKey));
    }

    [Fact]
    public void Scoped_keys_name_their_kind_whatever_the_scope_holds()
    {
        Assert.Equal(EmailKind.DuplicateNotice, EmailKinds.ForLedgerKey("DuplicateNotice-R-00000-11111")?.Kind);
        Assert.Equal(EmailKind.OperatorAlert, EmailKinds.ForLedgerKey("OperatorAlert-Poison-R-1-referral-intake")?.Kind);
    }
}
