namespace Referrals.Core.Referrals;

/// <summary>
/// What a <see cref="ReferralCase"/> holds between loads: the status machine's state, as stored with the referral.
/// The personal details the visitor sent are not part of it.
/// </summary>
public sealed record ReferralCaseState(string Id, ReferralStatus Status, DateTimeOffset ReceivedAt)
{
    public bool Urgent { get; init; }

    /// <summary>Counts every assignment, so links and emails can name the one they belong to.</summary>
    public int Assignment { get; init; }

    public string? AssignedSpecialistId { get; init; }
    public DateTimeOffset? AssignedAt { get; init; }
    public string? RoutingExplanation { get; init; }

    /// <summary>Specialists who declined or let the referral time out, in that order; never offered it again.</summary>
    public IReadOnlySet<string> Excluded { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public int UnansweredCount { get; init; }

    /// <summary>The assignment its one reminder was sent for.</summary>
    public int ReminderForAssignment { get; init; }

    public int TimedOutAssignment { get; init; }
    public string? TimedOutSpecialistId { get; init; }

    /// <summary>Where a replay puts it back.</summary>
    public ReferralStatus? StatusBeforeFailure { get; init; }

    public DateTimeOffset? ErasedAt { get; init; }

    /// <summary>For a Duplicate stub: the live referral it repeated.</summary>
    public string? DuplicateOf { get; init; }

    /// <summary>The sequence number of the last history entry.</summary>
    public int HistoryCount { get; init; }
}
