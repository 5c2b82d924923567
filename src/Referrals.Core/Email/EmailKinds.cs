namespace Referrals.Core.Email;

/// <summary>
/// The one description of every email kind. Adding a kind is its <see cref="EmailKind"/> value, a row here and its
/// three template files; the ledger, the daily cap, bounce handling and logging read the row.
/// </summary>
public static class EmailKinds
{
    public static IReadOnlyList<EmailKindInfo> All { get; } =
    [
        new(EmailKind.VisitorConfirmation, EmailRecipient.Visitor, EmailScope.Referral, CountsAgainstDailyCap: true),
        new(EmailKind.SpecialistNewReferral, EmailRecipient.Specialist, EmailScope.Assignment),
        new(EmailKind.SpecialistReminder, EmailRecipient.Specialist, EmailScope.Assignment),
        new(EmailKind.VisitorAccepted, EmailRecipient.Visitor, EmailScope.Referral),
        new(EmailKind.TriageNotice, EmailRecipient.Triage, EmailScope.Assignment),
        new(EmailKind.UrgentAlert, EmailRecipient.Operators, EmailScope.Referral, KindMayBeLogged: false),
        // Goes to the earlier referral's owner, whose partition holds its row, so a bounce marks that referral.
        new(EmailKind.DuplicateNotice, EmailRecipient.Visitor, EmailScope.RepeatSubmission, CountsAgainstDailyCap: true),
        new(EmailKind.SpecialistWithdrawn, EmailRecipient.Specialist, EmailScope.Referral, SentAfterErasure: true),
        // Recorded in the EmailLedger table's alert partitions, not in a referral's: a digest names many referrals.
        new(EmailKind.OperatorAlert, EmailRecipient.Operators, EmailScope.Alert),
        new(EmailKind.OperatorAlertDigest, EmailRecipient.Operators, EmailScope.Alert),
    ];

    private static readonly Dictionary<EmailKind, EmailKindInfo> ByKind = All.ToDictionary(k => k.Kind);
    private static readonly Dictionary<string, EmailKindInfo> ByName = All.ToDictionary(k => k.Kind.ToString(), StringComparer.Ordinal);

    public static EmailKindInfo Of(EmailKind kind) =>
        ByKind.TryGetValue(kind, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(kind), kind, "No description in EmailKinds.All.");

    /// <summary>The kind a ledger key (from our custom_args, so possibly forged) names, or null.</summary>
    public static EmailKindInfo? ForLedgerKey(string? ledgerKey)
    {
        if (string.IsNullOrEmpty(ledgerKey))
        {
            return null;
        }

        // A resend is the same kind as its original.
        ledgerKey = EmailResend.OriginalOf(ledgerKey);
        var dash = ledgerKey.IndexOf('-', StringComparison.Ordinal);
        var name = dash < 0 ? ledgerKey : ledgerKey[..dash];
        return ByName.TryGetValue(name, out var info) && (dash < 0) == (info.RepeatsPer == EmailScope.Referral) ? info : null;
    }
}
