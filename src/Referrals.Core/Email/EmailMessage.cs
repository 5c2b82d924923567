namespace Referrals.Core.Email;

/// <summary>
/// Which email a referral gets. The ledger keys sends by referral and kind, so a redelivered message never sends a kind twice.
/// </summary>
public enum EmailKind
{
    VisitorConfirmation,
    SpecialistNewReferral,
    TriageNotice,
}

/// <summary>An email ready to send. Subject and bodies carry the reference, never health details.</summary>
public sealed record EmailMessage(EmailKind Kind, string ToAddress, string? ToName, string Subject, string Html, string Text);
