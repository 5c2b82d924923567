namespace Referrals.Core.Referrals;

public enum ReferralStatus
{
    Received,
    Routed,
    NeedsTriage,
    Notified,
    Accepted,
    Withdrawn,

    /// <summary>A message about it failed every attempt; an operator can replay it.</summary>
    Failed,

    /// <summary>
    /// A repeat of a live referral (same email and treatment, or a crashed attempt of a request answered later): a stub
    /// with no personal data, kept so the reference its sender was given exists. Never routed or emailed.
    /// </summary>
    Duplicate,
}

/// <summary>Who caused a transition; recorded in the history so operators can tell people from the pipeline.</summary>
public enum Actor
{
    Visitor,
    System,
    Specialist,
    Operator,
}

public sealed record StatusChange(ReferralStatus Status, DateTimeOffset At, Actor Actor, string Reason);

public static class StatusTransitions
{
    private static readonly Dictionary<ReferralStatus, ReferralStatus[]> Allowed = new()
    {
        [ReferralStatus.Received] = [ReferralStatus.Routed, ReferralStatus.NeedsTriage, ReferralStatus.Withdrawn, ReferralStatus.Failed, ReferralStatus.Duplicate],
        // Routed again is a re-route after a decline or a timeout.
        [ReferralStatus.Routed] = [ReferralStatus.Notified, ReferralStatus.Routed, ReferralStatus.NeedsTriage, ReferralStatus.Accepted, ReferralStatus.Withdrawn, ReferralStatus.Failed],
        [ReferralStatus.Notified] = [ReferralStatus.Accepted, ReferralStatus.Routed, ReferralStatus.NeedsTriage, ReferralStatus.Withdrawn, ReferralStatus.Failed],
        [ReferralStatus.NeedsTriage] = [ReferralStatus.Routed, ReferralStatus.Withdrawn, ReferralStatus.Failed],
        [ReferralStatus.Accepted] = [ReferralStatus.Withdrawn, ReferralStatus.Failed],
        // A replay puts the referral back where it failed.
        [ReferralStatus.Failed] = [ReferralStatus.Received, ReferralStatus.Routed, ReferralStatus.NeedsTriage, ReferralStatus.Notified, ReferralStatus.Accepted, ReferralStatus.Withdrawn],
        [ReferralStatus.Withdrawn] = [],
        [ReferralStatus.Duplicate] = [],
    };

    public static bool CanMove(ReferralStatus from, ReferralStatus to) => Allowed[from].Contains(to);

    /// <summary>Throws when the move makes no sense, so that a bug never rewrites history silently.</summary>
    public static void EnsureCanMove(ReferralStatus from, ReferralStatus to)
    {
        if (!CanMove(from, to))
        {
            throw new InvalidStatusTransitionException(from, to);
        }
    }
}

public sealed class InvalidStatusTransitionException(ReferralStatus from, ReferralStatus to)
    : InvalidOperationException($"This referral is {from} and cannot become {to}.")
{
    public ReferralStatus From { get; } = from;
    public ReferralStatus To { get; } = to;
}
