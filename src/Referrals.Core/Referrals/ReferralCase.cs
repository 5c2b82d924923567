namespace Referrals.Core.Referrals;

/// <summary>
/// A referral's status machine, and the only thing that moves it: each method checks the move against
/// <see cref="StatusTransitions"/> and the offer it concerns, changes the state and appends the history entry.
/// Load it from the stored state, call a method (or a decline or timeout and the re-route that follows), then write
/// <see cref="State"/> and <see cref="NewHistory"/> together. Nothing is changed when a method refuses.
/// </summary>
public sealed class ReferralCase(ReferralCaseState loaded)
{
    private readonly List<HistoryEntry> newHistory = [];
    private ReferralCaseState state = loaded;

    /// <summary>Set by a decline or timeout: the offer is over, and the re-route that follows records why.</summary>
    private (Actor Actor, string Reason)? ended;

    public ReferralCaseState State => state;
    public string Id => state.Id;
    public ReferralStatus Status => state.Status;
    public bool Urgent => state.Urgent;
    public DateTimeOffset ReceivedAt => state.ReceivedAt;
    public int Assignment => state.Assignment;
    public string? AssignedSpecialistId => state.AssignedSpecialistId;
    public DateTimeOffset? AssignedAt => state.AssignedAt;
    public string? RoutingExplanation => state.RoutingExplanation;
    public IReadOnlySet<string> Excluded => state.Excluded;
    public int UnansweredCount => state.UnansweredCount;
    public int ReminderForAssignment => state.ReminderForAssignment;
    public int TimedOutAssignment => state.TimedOutAssignment;
    public string? TimedOutSpecialistId => state.TimedOutSpecialistId;
    public ReferralStatus? StatusBeforeFailure => state.StatusBeforeFailure;
    public DateTimeOffset? ErasedAt => state.ErasedAt;
    public string? DuplicateOf => state.DuplicateOf;
    public int HistoryCount => state.HistoryCount;

    /// <summary>The history entries appended since it was loaded (or last saved), numbered after the stored ones.</summary>
    public IReadOnlyList<HistoryEntry> NewHistory => newHistory;

    /// <summary>A decline or timeout was recorded; only the re-route that carries it (Offer or SendToTriage) may follow.</summary>
    public bool AwaitingReroute => ended is not null;

    /// <summary>A specialist has the referral in front of them and has not answered.</summary>
    public bool HasOpenOffer =>
        ended is null && state.Status is ReferralStatus.Routed or ReferralStatus.Notified && state.AssignedSpecialistId is not null;

    /// <summary>Offers it to a specialist: a new assignment, Routed.</summary>
    public void Offer(string specialistId, DateTimeOffset at, string explanation)
    {
        if (state.Excluded.Contains(specialistId))
        {
            throw new InvalidOperationException($"Specialist {specialistId} declined referral {Id} or let it time out; it is never offered to them again.");
        }

        Route(ReferralStatus.Routed, specialistId, at, explanation, $"Routed to specialist {specialistId}.");
    }

    /// <summary>Nobody could take it: a new assignment with no specialist, NeedsTriage.</summary>
    public void SendToTriage(DateTimeOffset at, string explanation) =>
        Route(ReferralStatus.NeedsTriage, null, at, explanation, explanation);

    /// <summary>
    /// An operator assigns a referral waiting in triage to a specialist they chose: a new assignment, Routed, by the
    /// operator. Whether the specialist may take it (licence, treatment, capacity) is the caller's check.
    /// </summary>
    public void Assign(string specialistId, DateTimeOffset at, string explanation)
    {
        EnsureNoRerouteDue();
        if (state.Status != ReferralStatus.NeedsTriage)
        {
            throw new InvalidStatusTransitionException(state.Status, ReferralStatus.Routed);
        }

        if (state.Excluded.Contains(specialistId))
        {
            throw new InvalidOperationException($"Specialist {specialistId} declined referral {Id} or let it time out; it is never offered to them again.");
        }

        Route(ReferralStatus.Routed, specialistId, at, explanation, $"Assigned to specialist {specialistId} by an operator.", Actor.Operator);
    }

    /// <summary>
    /// An operator sends it round again. An open offer ends as a decline does (its specialist is excluded and counted
    /// unanswered); a referral waiting in triage is simply routed again. Either way the re-route that must follow
    /// (Offer or SendToTriage) records the operator.
    /// </summary>
    public void RerouteByOperator()
    {
        EnsureNoRerouteDue();
        if (HasOpenOffer)
        {
            End(Actor.Operator, $"Taken back from {state.AssignedSpecialistId} by an operator.");
        }
        else if (state.Status == ReferralStatus.NeedsTriage)
        {
            ended = (Actor.Operator, "Routed again by an operator.");
        }
        else
        {
            throw new InvalidStatusTransitionException(state.Status, ReferralStatus.Routed);
        }
    }

    /// <summary>The specialist of the open offer says no: they are excluded, and it must be routed again.</summary>
    public void Decline(string specialistId, int assignment, string reason)
    {
        EnsureOpenOffer(specialistId, assignment);
        End(Actor.Specialist, $"Declined by {specialistId}: {reason}.");
    }

    /// <summary>The open offer went unanswered too long: as a decline, and operators are told who was silent.</summary>
    public void TimeOut(int assignment)
    {
        EnsureOpenOffer(null, assignment);
        var silent = state.AssignedSpecialistId!;
        state = state with { TimedOutAssignment = state.Assignment, TimedOutSpecialistId = silent };
        End(Actor.System, $"No answer from {silent} in time.");
    }

    /// <summary>Marks the open offer reminded. False when it already was: one reminder per assignment.</summary>
    public bool Remind(int assignment)
    {
        EnsureOpenOffer(null, assignment);
        if (state.ReminderForAssignment >= state.Assignment)
        {
            return false;
        }

        state = state with { ReminderForAssignment = state.Assignment };
        return true;
    }

    /// <summary>The specialist of the open offer takes it.</summary>
    public void Accept(string specialistId, int assignment, DateTimeOffset at)
    {
        StatusTransitions.EnsureCanMove(state.Status, ReferralStatus.Accepted);
        EnsureOpenOffer(specialistId, assignment);
        Move(ReferralStatus.Accepted, at, Actor.Specialist, $"Accepted by {specialistId}.");
    }

    /// <summary>A routed referral's emails went out: Notified. False, and nothing changes, in any other status.</summary>
    public bool MarkEmailed(DateTimeOffset at)
    {
        EnsureNoRerouteDue();
        if (state.Status != ReferralStatus.Routed)
        {
            return false;
        }

        StatusTransitions.EnsureCanMove(state.Status, ReferralStatus.Notified);
        Move(ReferralStatus.Notified, at, Actor.System, "Visitor and specialist emailed.");
        return true;
    }

    /// <summary>
    /// Withdrawn, and erased: its details go. A referral already withdrawn stays as it is (a second run of an
    /// erasure), with no new entry; one withdrawn before erasure existed only gets its erasure time.
    /// </summary>
    public void Withdraw(DateTimeOffset at, Actor actor, string reason)
    {
        EnsureNoRerouteDue();
        if (state.Status != ReferralStatus.Withdrawn)
        {
            StatusTransitions.EnsureCanMove(state.Status, ReferralStatus.Withdrawn);
            Move(ReferralStatus.Withdrawn, at, actor, reason);
        }

        state = state with { ErasedAt = state.ErasedAt ?? at };
    }

    /// <summary>Its details are erased but its status stays (so counts by status stay right). Once: erasing again changes nothing.</summary>
    public void Erase(DateTimeOffset at, Actor actor, string reason)
    {
        EnsureNoRerouteDue();
        if (state.ErasedAt is not null)
        {
            return;
        }

        state = state with { ErasedAt = at };
        Append(state.Status, at, actor, reason);
    }

    /// <summary>A message about it failed every attempt in <paramref name="stage"/>; the status it had is kept for a replay.</summary>
    public void Fail(DateTimeOffset at, string stage)
    {
        EnsureNoRerouteDue();
        StatusTransitions.EnsureCanMove(state.Status, ReferralStatus.Failed);
        state = state with { StatusBeforeFailure = state.Status };
        Move(ReferralStatus.Failed, at, Actor.System, $"Every attempt in {stage} failed; parked for operators.");
    }

    /// <summary>An operator replays the failed message onto <paramref name="queue"/>: back to where it failed.</summary>
    public void Replay(DateTimeOffset at, string queue)
    {
        EnsureNoRerouteDue();
        var back = state.StatusBeforeFailure ?? ReferralStatus.Received;
        if (state.Status != ReferralStatus.Failed)
        {
            throw new InvalidStatusTransitionException(state.Status, back);
        }

        StatusTransitions.EnsureCanMove(state.Status, back);
        Move(back, at, Actor.Operator, $"Replayed onto {queue}.");
    }

    /// <summary>A repeat of the live referral <paramref name="ownerId"/>: a stub that keeps nothing the sender told us.</summary>
    public void MarkDuplicate(string ownerId, DateTimeOffset at)
    {
        EnsureNoRerouteDue();
        StatusTransitions.EnsureCanMove(state.Status, ReferralStatus.Duplicate);
        state = state with { DuplicateOf = ownerId, Urgent = false };
        Move(ReferralStatus.Duplicate, at, Actor.System, "A repeat of an earlier request; nothing kept.");
    }

    /// <summary>The state and <see cref="NewHistory"/> were written: later changes number on from here.</summary>
    public void MarkSaved() => newHistory.Clear();

    private void Route(ReferralStatus to, string? specialistId, DateTimeOffset at, string explanation, string outcome, Actor actor = Actor.System)
    {
        // Routed again only once the open offer has ended (declined or timed out), never over it.
        if (HasOpenOffer)
        {
            throw new InvalidStatusTransitionException(state.Status, to);
        }

        StatusTransitions.EnsureCanMove(state.Status, to);
        var (by, reason) = ended ?? (actor, "");
        ended = null;
        state = state with
        {
            AssignedSpecialistId = specialistId,
            AssignedAt = specialistId is null ? null : at,
            Assignment = state.Assignment + 1,
            RoutingExplanation = explanation,
        };
        Move(to, at, by, $"{reason} {outcome}".Trim());
    }

    private void End(Actor actor, string reason)
    {
        state = state with
        {
            Excluded = new HashSet<string>(state.Excluded, StringComparer.Ordinal) { state.AssignedSpecialistId! },
            UnansweredCount = state.UnansweredCount + 1,
        };
        ended = (actor, reason);
    }

    /// <param name="specialistId">The specialist who answers; null when the offer's own specialist is meant.</param>
    private void EnsureOpenOffer(string? specialistId, int assignment)
    {
        if (!HasOpenOffer || state.Assignment != assignment || (specialistId is not null && specialistId != state.AssignedSpecialistId))
        {
            throw new OfferNotOpenException(Id, state.Status, specialistId, assignment);
        }
    }

    private void EnsureNoRerouteDue()
    {
        if (ended is not null)
        {
            throw new InvalidOperationException($"Referral {Id} has an ended offer to route again first.");
        }
    }

    private void Move(ReferralStatus to, DateTimeOffset at, Actor actor, string reason)
    {
        state = state with { Status = to };
        Append(to, at, actor, reason);
    }

    private void Append(ReferralStatus status, DateTimeOffset at, Actor actor, string reason)
    {
        state = state with { HistoryCount = state.HistoryCount + 1 };
        newHistory.Add(new HistoryEntry(state.HistoryCount, new StatusChange(status, at, actor, reason)));
    }
}
