namespace Referrals.Functions.Intake;

public enum IntakeAnswerKind
{
    /// <summary>Recorded (new, a repeat's stub, or a replay): answer with <see cref="IntakeAnswer.ReferralId"/>.</summary>
    Accepted,

    /// <summary>A filled honeypot or a forged stamp: answered like success with a reference nothing stands behind.</summary>
    Spam,

    /// <summary>Some fields need the visitor's attention: <see cref="IntakeAnswer.Errors"/>.</summary>
    Invalid,

    /// <summary>A form sent too soon after it was shown, or too long after: asked to send again, nothing blamed.</summary>
    SendAgain,

    /// <summary>Too many submissions from this connection: wait <see cref="IntakeAnswer.RetryAfter"/>.</summary>
    TooManyFromClient,

    /// <summary>Too many submissions for this email address today: wait <see cref="IntakeAnswer.RetryAfter"/>.</summary>
    TooManyForEmail,

    /// <summary>The Idempotency-Key (or the form's stamp) was used for a different request.</summary>
    KeyReused,

    /// <summary>Stored but not queued (the reconciler finishes it): try again after <see cref="IntakeAnswer.RetryAfter"/>.</summary>
    NotQueued,

    /// <summary>Storage could not be reached, so whether anything was stored is unknown: retry after <see cref="IntakeAnswer.RetryAfter"/>.</summary>
    StorageUnavailable,
}

/// <summary>What intake decided about one request, for the function to turn into a page or a JSON answer.</summary>
public sealed record IntakeAnswer(
    IntakeAnswerKind Kind,
    string? ReferralId = null,
    IReadOnlyDictionary<string, string[]>? Errors = null,
    TimeSpan RetryAfter = default,
    bool Urgent = false);
