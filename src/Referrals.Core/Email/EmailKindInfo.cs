namespace Referrals.Core.Email;

/// <summary>Who an email goes to. <see cref="Visitor"/> is the person whose referral the email's ledger row sits with.</summary>
public enum EmailRecipient
{
    Visitor,
    Specialist,
    Triage,
    Operators,
}

/// <summary>What one ledger row, so one send, stands for: the ledger key is the kind plus that scope's id.</summary>
public enum EmailScope
{
    /// <summary>Once per referral: the key is the kind alone.</summary>
    Referral,

    /// <summary>Again for each assignment (a re-route), keyed by its number.</summary>
    Assignment,

    /// <summary>Once per repeat submission, keyed by the repeat's stub id.</summary>
    RepeatSubmission,

    /// <summary>Once per operator alert (condition, referral and scope) or digest, keyed by its alert row.</summary>
    Alert,
}

/// <summary>
/// Everything the pipeline needs to know about one email kind, in one place (<see cref="EmailKinds.All"/>).
/// Its wording is the three files Templates/{Kind}.subject.txt, .txt and .html.
/// </summary>
/// <param name="CountsAgainstDailyCap">Counted in the address's daily confirmations; past the cap it is recorded as suppressed, not sent.</param>
/// <param name="KindMayBeLogged">False when the kind next to a reference would itself be sensitive (the urgent alert says "at risk").</param>
/// <param name="SentAfterErasure">Still sent, and its delivery events kept, once the referral is erased (it holds the reference only).</param>
public sealed record EmailKindInfo(
    EmailKind Kind,
    EmailRecipient Recipient,
    EmailScope RepeatsPer,
    bool CountsAgainstDailyCap = false,
    bool KindMayBeLogged = true,
    bool SentAfterErasure = false)
{
    public string Template => Kind.ToString();

    /// <summary>The ledger row's key: one row per kind and scope, so a redelivered message never sends it twice.</summary>
    /// <param name="scope">The assignment, repeat or queue; none for a once-per-referral kind.</param>
    public string LedgerKey(string? scope = null) => (RepeatsPer, scope) switch
    {
        (EmailScope.Referral, null) => Kind.ToString(),
        (EmailScope.Referral, _) => throw new ArgumentException($"{Kind} is sent once per referral: its ledger key takes no scope.", nameof(scope)),
        (_, null or "") => throw new ArgumentException($"{Kind} repeats per {RepeatsPer}: its ledger key needs one.", nameof(scope)),
        _ => $"{Kind}-{scope}",
    };
}
