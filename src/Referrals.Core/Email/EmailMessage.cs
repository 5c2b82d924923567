namespace Referrals.Core.Email;

/// <summary>Which email a referral gets. Each kind is described once, in <see cref="EmailKinds"/>.</summary>
public enum EmailKind
{
    VisitorConfirmation,
    SpecialistNewReferral,
    SpecialistReminder,
    VisitorAccepted,
    TriageNotice,

    /// <summary>Operators are told at once that a referral needs attention now; once per referral.</summary>
    UrgentAlert,

    /// <summary>To a referral's owner when someone sent the form again for it: "we already have your request".</summary>
    DuplicateNotice,

    /// <summary>To the specialist who held a referral the visitor withdrew: the reference only.</summary>
    SpecialistWithdrawn,

    /// <summary>Operators: one <see cref="AlertCondition"/> for one referral, sent at once (the first of a quiet period).</summary>
    OperatorAlert,

    /// <summary>Operators: the alerts of one condition collected over a quiet period, as one email.</summary>
    OperatorAlertDigest,
}

/// <summary>An email ready to send. Subject and bodies carry the reference, never health details.</summary>
public sealed record EmailMessage(EmailKind Kind, string ToAddress, string? ToName, string Subject, string Html, string Text, string LedgerKey)
{
    public EmailMessage(EmailKind kind, string toAddress, string? toName, string subject, string html, string text)
        : this(kind, toAddress, toName, subject, html, text, EmailKinds.Of(kind).LedgerKey())
    {
    }
}
