using Referrals.Core.Referrals;

namespace Referrals.Core.Tests;

public class ReferralCaseTests
{
    private const string Id = "R-ABCDE-FGH12";
    private const string Offered = "sp-1";
    private const int Current = 2;
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset At = T0.AddHours(5);

    /// <summary>A case as it would be stored in each status: Routed, Notified, Accepted and Failed hold an offer to sp-1 (assignment 2).</summary>
    private static ReferralCase Case(ReferralStatus status) => new(StateIn(status));

    private static ReferralCaseState StateIn(ReferralStatus status)
    {
        var state = new ReferralCaseState(Id, status, T0) { Urgent = true, HistoryCount = 3 };
        return status switch
        {
            ReferralStatus.Received => state with { HistoryCount = 1 },
            ReferralStatus.Routed or ReferralStatus.Notified or ReferralStatus.Accepted => Offer(state),
            ReferralStatus.Failed => Offer(state) with { StatusBeforeFailure = ReferralStatus.Notified },
            ReferralStatus.NeedsTriage => state with { Assignment = Current, RoutingExplanation = "Sent to triage: no specialist." },
            ReferralStatus.Withdrawn => state with { Urgent = false, ErasedAt = T0.AddHours(1) },
            ReferralStatus.Duplicate => state with { Urgent = false, DuplicateOf = "R-ZZZZZ-ZZZ99" },
            _ => throw new ArgumentOutOfRangeException(nameof(status)),
        };

        static ReferralCaseState Offer(ReferralCaseState s) =>
            s with { Assignment = Current, AssignedSpecialistId = Offered, AssignedAt = T0.AddHours(1), RoutingExplanation = "Best match.", Excluded = new HashSet<string> { "sp-0" }, UnansweredCount = 1 };
    }

    private abstract record Outcome;

    /// <summary>Moves to <paramref name="To"/> with one history entry.</summary>
    private sealed record Moves(ReferralStatus To, Actor Actor, string Reason) : Outcome;

    /// <summary>Accepted without a status change; <paramref name="Entry"/> says whether a history entry is appended (at the same status).</summary>
    private sealed record Stays(bool Entry = false) : Outcome;

    /// <summary>Ends the open offer: no status change or entry until the re-route.</summary>
    private sealed record Ends : Outcome;

    private sealed record Refused(Type Exception) : Outcome;

    private static readonly Refused BadMove = new(typeof(InvalidStatusTransitionException));
    private static readonly Refused NoOffer = new(typeof(OfferNotOpenException));
    private static bool IsOpen(ReferralStatus s) => s is ReferralStatus.Routed or ReferralStatus.Notified;

    /// <summary>Every method, what it does, and what it should do from each stored status.</summary>
    private static readonly Dictionary<string, (Action<ReferralCase> Act, Func<ReferralStatus, Outcome> Expect)> Methods = new()
    {
        ["Offer"] = (c => c.Offer("sp-2", At, "Best match."), s => s is ReferralStatus.Received or ReferralStatus.NeedsTriage or ReferralStatus.Failed
            ? new Moves(ReferralStatus.Routed, Actor.System, "Routed to specialist sp-2.")
            : BadMove),
        ["SendToTriage"] = (c => c.SendToTriage(At, "Sent to triage: nobody fits."), s => s is ReferralStatus.Received or ReferralStatus.Failed
            ? new Moves(ReferralStatus.NeedsTriage, Actor.System, "Sent to triage: nobody fits.")
            : BadMove),
        ["Decline"] = (c => c.Decline(Offered, Current, "Not taking new patients"), s => IsOpen(s) ? new Ends() : NoOffer),
        ["TimeOut"] = (c => c.TimeOut(Current), s => IsOpen(s) ? new Ends() : NoOffer),
        ["Remind"] = (c => Assert.True(c.Remind(Current)), s => IsOpen(s) ? new Stays() : NoOffer),
        ["Accept"] = (c => c.Accept(Offered, Current, At), s => IsOpen(s)
            ? new Moves(ReferralStatus.Accepted, Actor.Specialist, "Accepted by sp-1.")
            : s == ReferralStatus.Failed ? NoOffer : BadMove),
        ["MarkEmailed"] = (c => c.MarkEmailed(At), s => s == ReferralStatus.Routed
            ? new Moves(ReferralStatus.Notified, Actor.System, "Visitor and specialist emailed.")
            : new Stays()),
        ["Withdraw"] = (c => c.Withdraw(At, Actor.Visitor, "Withdrawn; personal details erased."), s => s switch
        {
            ReferralStatus.Duplicate => BadMove,
            ReferralStatus.Withdrawn => new Stays(),
            _ => new Moves(ReferralStatus.Withdrawn, Actor.Visitor, "Withdrawn; personal details erased."),
        }),
        ["Erase"] = (c => c.Erase(At, Actor.System, "Personal details erased after the retention period."), s => new Stays(Entry: s != ReferralStatus.Withdrawn)),
        ["Fail"] = (c => c.Fail(At, "referral-notifications"), s => s is ReferralStatus.Failed or ReferralStatus.Withdrawn or ReferralStatus.Duplicate
            ? BadMove
            : new Moves(ReferralStatus.Failed, Actor.System, "Every attempt in referral-notifications failed; parked for operators.")),
        ["Replay"] = (c => c.Replay(At, "referral-notifications"), s => s == ReferralStatus.Failed
            ? new Moves(ReferralStatus.Notified, Actor.Operator, "Replayed onto referral-notifications.")
            : BadMove),
        ["MarkDuplicate"] = (c => c.MarkDuplicate("R-OWNER-00001", At), s => s == ReferralStatus.Received
            ? new Moves(ReferralStatus.Duplicate, Actor.System, "A repeat of an earlier request; nothing kept.")
            : BadMove),
    };

    public static TheoryData<string, ReferralStatus> EveryMethodFromEveryStatus()
    {
        var data = new TheoryData<string, ReferralStatus>();
        foreach (var method in Methods.Keys)
        {
            foreach (var status in Enum.GetValues<ReferralStatus>())
            {
                data.Add(method, status);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryMethodFromEveryStatus))]
    public void Each_method_makes_only_its_allowed_moves_and_refuses_the_rest_without_changing_anything(string method, ReferralStatus from)
    {
        var referralCase = Case(from);
        var before = referralCase.State;
        var (act, expect) = Methods[method];

        switch (expect(from))
        {
            case Refused refused:
                Assert.IsType(refused.Exception, Record.Exception(() => act(referralCase)));
                Assert.Same(before, referralCase.State);
                Assert.Empty(referralCase.NewHistory);
                Assert.False(referralCase.AwaitingReroute);
                break;
            case Moves moves:
                act(referralCase);
                Assert.Equal(moves.To, referralCase.Status);
                Assert.True(StatusTransitions.CanMove(from, moves.To));
                var entry = Assert.Single(referralCase.NewHistory);
                Assert.Equal(new HistoryEntry(before.HistoryCount + 1, new StatusChange(moves.To, At, moves.Actor, moves.Reason)), entry);
                Assert.Equal(before.HistoryCount + 1, referralCase.HistoryCount);
                break;
            case Stays stays:
                act(referralCase);
                Assert.Equal(from, referralCase.Status);
                Assert.Equal(stays.Entry ? 1 : 0, referralCase.NewHistory.Count);
                Assert.All(referralCase.NewHistory, e => Assert.Equal((before.HistoryCount + 1, from, At), (e.Sequence, e.Change.Status, e.Change.At)));
                Assert.Equal(before.HistoryCount + referralCase.NewHistory.Count, referralCase.HistoryCount);
                break;
            case Ends:
                act(referralCase);
                Assert.Equal(from, referralCase.Status);
                Assert.Empty(referralCase.NewHistory);
                Assert.True(referralCase.AwaitingReroute);
                Assert.Contains(Offered, referralCase.Excluded);
                Assert.Equal(before.UnansweredCount + 1, referralCase.UnansweredCount);
                break;
        }
    }

    [Fact]
    public void A_first_route_numbers_the_assignment_and_names_the_specialist()
    {
        var offered = Case(ReferralStatus.Received);
        offered.Offer("sp-2", At, "sp-2 ranked first.");
        Assert.Equal((1, "sp-2", At, "sp-2 ranked first."), (offered.Assignment, offered.AssignedSpecialistId, offered.AssignedAt, offered.RoutingExplanation));

        var triaged = Case(ReferralStatus.Received);
        triaged.SendToTriage(At, "Sent to triage: nobody fits.");
        Assert.Equal((1, null, null, "Sent to triage: nobody fits."), (triaged.Assignment, triaged.AssignedSpecialistId, triaged.AssignedAt, triaged.RoutingExplanation));
    }

    [Theory]
    [InlineData(ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Notified)]
    public void A_decline_excludes_the_specialist_and_the_re_route_carries_its_entry(ReferralStatus from)
    {
        var referralCase = Case(from);

        referralCase.Decline(Offered, Current, "Not taking new patients");
        referralCase.Offer("sp-2", At, "sp-2 ranked first.");

        Assert.Equal(new HistoryEntry(4, new StatusChange(ReferralStatus.Routed, At, Actor.Specialist, "Declined by sp-1: Not taking new patients. Routed to specialist sp-2.")),
            Assert.Single(referralCase.NewHistory));
        Assert.Equal(new[] { "sp-0", "sp-1" }, referralCase.Excluded);
        Assert.Equal((2, Current + 1, "sp-2", At), (referralCase.UnansweredCount, referralCase.Assignment, referralCase.AssignedSpecialistId, referralCase.AssignedAt));
        Assert.Equal((0, null), (referralCase.TimedOutAssignment, referralCase.TimedOutSpecialistId));
        Assert.False(referralCase.AwaitingReroute);
    }

    [Fact]
    public void A_timeout_is_a_decline_by_the_system_that_names_the_silent_specialist_and_assignment()
    {
        var referralCase = Case(ReferralStatus.Notified);

        referralCase.TimeOut(Current);
        referralCase.SendToTriage(At, "Sent to triage: 2 specialists declined or did not answer.");

        Assert.Equal(new HistoryEntry(4, new StatusChange(ReferralStatus.NeedsTriage, At, Actor.System, "No answer from sp-1 in time. Sent to triage: 2 specialists declined or did not answer.")),
            Assert.Single(referralCase.NewHistory));
        Assert.Equal((Current, Offered), (referralCase.TimedOutAssignment, referralCase.TimedOutSpecialistId));
        Assert.Equal((2, Current + 1, null, null), (referralCase.UnansweredCount, referralCase.Assignment, referralCase.AssignedSpecialistId, referralCase.AssignedAt));
        Assert.Contains(Offered, referralCase.Excluded);
    }

    [Fact]
    public void An_ended_offer_must_be_routed_again_before_anything_else_and_never_to_the_same_specialist()
    {
        var referralCase = Case(ReferralStatus.Routed);
        referralCase.Decline(Offered, Current, "Outside my scope");
        var ended = referralCase.State;

        Assert.Throws<OfferNotOpenException>(() => referralCase.Decline(Offered, Current, "Again"));
        Assert.Throws<OfferNotOpenException>(() => referralCase.TimeOut(Current));
        Assert.Throws<OfferNotOpenException>(() => referralCase.Remind(Current));
        Assert.Throws<OfferNotOpenException>(() => referralCase.Accept(Offered, Current, At));
        Assert.Throws<InvalidOperationException>(() => referralCase.MarkEmailed(At));
        Assert.Throws<InvalidOperationException>(() => referralCase.Withdraw(At, Actor.Visitor, "Withdrawn."));
        Assert.Throws<InvalidOperationException>(() => referralCase.Erase(At, Actor.System, "Erased."));
        Assert.Throws<InvalidOperationException>(() => referralCase.Fail(At, "referral-intake"));
        Assert.Throws<InvalidOperationException>(() => referralCase.Offer(Offered, At, "sp-1 again."));
        Assert.Same(ended, referralCase.State);
        Assert.True(referralCase.AwaitingReroute);
    }

    [Theory]
    [InlineData(ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Notified)]
    public void Only_the_open_offers_specialist_and_assignment_can_answer_it(ReferralStatus from)
    {
        var referralCase = Case(from);
        var before = referralCase.State;

        foreach (var (specialist, assignment) in new[] { ("sp-9", Current), (Offered, Current - 1), (Offered, Current + 1), ("sp-0", Current) })
        {
            var accept = Assert.Throws<OfferNotOpenException>(() => referralCase.Accept(specialist, assignment, At));
            Assert.Equal((specialist, assignment, from), (accept.SpecialistId, accept.Assignment, accept.Status));
            Assert.Throws<OfferNotOpenException>(() => referralCase.Decline(specialist, assignment, "No"));
        }

        Assert.Throws<OfferNotOpenException>(() => referralCase.TimeOut(Current - 1));
        Assert.Throws<OfferNotOpenException>(() => referralCase.Remind(Current - 1));
        Assert.Same(before, referralCase.State);
        Assert.Empty(referralCase.NewHistory);
    }

    [Fact]
    public void A_route_over_an_open_offer_is_refused()
    {
        var referralCase = Case(ReferralStatus.Notified);

        var error = Assert.Throws<InvalidStatusTransitionException>(() => referralCase.Offer("sp-2", At, "sp-2."));

        Assert.Equal((ReferralStatus.Notified, ReferralStatus.Routed), (error.From, error.To));
        Assert.Throws<InvalidStatusTransitionException>(() => referralCase.SendToTriage(At, "Triage."));
    }

    [Fact]
    public void One_reminder_per_assignment()
    {
        var referralCase = Case(ReferralStatus.Routed);

        Assert.True(referralCase.Remind(Current));
        Assert.Equal(Current, referralCase.ReminderForAssignment);
        Assert.False(referralCase.Remind(Current));
        Assert.Empty(referralCase.NewHistory);

        // The next assignment gets its own.
        referralCase.TimeOut(Current);
        referralCase.Offer("sp-2", At, "sp-2.");
        Assert.True(referralCase.Remind(Current + 1));
    }

    [Fact]
    public void A_failure_keeps_where_it_was_and_a_replay_goes_back_there()
    {
        var referralCase = Case(ReferralStatus.NeedsTriage);

        referralCase.Fail(At, "referral-intake");
        Assert.Equal((ReferralStatus.Failed, ReferralStatus.NeedsTriage), (referralCase.Status, referralCase.StatusBeforeFailure));
        referralCase.Replay(At.AddHours(1), "referral-intake");

        Assert.Equal(ReferralStatus.NeedsTriage, referralCase.Status);
        Assert.Equal(
            new[]
            {
                new HistoryEntry(4, new StatusChange(ReferralStatus.Failed, At, Actor.System, "Every attempt in referral-intake failed; parked for operators.")),
                new HistoryEntry(5, new StatusChange(ReferralStatus.NeedsTriage, At.AddHours(1), Actor.Operator, "Replayed onto referral-intake.")),
            },
            referralCase.NewHistory);
    }

    [Fact]
    public void A_failure_recorded_without_its_status_replays_to_received()
    {
        var referralCase = new ReferralCase(new ReferralCaseState(Id, ReferralStatus.Failed, T0) { HistoryCount = 2 });

        referralCase.Replay(At, "referral-intake");

        Assert.Equal(ReferralStatus.Received, referralCase.Status);
    }

    [Fact]
    public void A_duplicate_names_its_owner_and_drops_the_urgent_mark()
    {
        var referralCase = Case(ReferralStatus.Received);

        referralCase.MarkDuplicate("R-OWNER-00001", At);

        Assert.Equal(("R-OWNER-00001", false), (referralCase.DuplicateOf, referralCase.Urgent));
    }

    [Fact]
    public void Withdrawing_erases_once_and_withdrawing_again_changes_nothing()
    {
        var referralCase = Case(ReferralStatus.Accepted);

        referralCase.Withdraw(At, Actor.Operator, "Withdrawn; personal details erased.");
        referralCase.Withdraw(At.AddHours(1), Actor.Visitor, "Withdrawn; personal details erased.");
        referralCase.Erase(At.AddHours(2), Actor.System, "Personal details erased after the retention period.");

        Assert.Equal((ReferralStatus.Withdrawn, At), (referralCase.Status, referralCase.ErasedAt));
        var entry = Assert.Single(referralCase.NewHistory);
        Assert.Equal((ReferralStatus.Withdrawn, Actor.Operator), (entry.Change.Status, entry.Change.Actor));
    }

    [Fact]
    public void A_referral_withdrawn_before_erasure_existed_gets_its_erasure_time_without_an_entry()
    {
        var referralCase = new ReferralCase(new ReferralCaseState(Id, ReferralStatus.Withdrawn, T0) { HistoryCount = 2 });

        referralCase.Withdraw(At, Actor.Visitor, "Withdrawn; personal details erased.");

        Assert.Equal(At, referralCase.ErasedAt);
        Assert.Empty(referralCase.NewHistory);
    }

    [Fact]
    public void Erasing_keeps_the_status_and_records_it_once()
    {
        var referralCase = Case(ReferralStatus.Notified);

        referralCase.Erase(At, Actor.Visitor, "Personal details erased with the referral this one repeated.");
        referralCase.Erase(At.AddDays(1), Actor.System, "Personal details erased after the retention period.");

        Assert.Equal((ReferralStatus.Notified, At), (referralCase.Status, referralCase.ErasedAt));
        Assert.Equal(new HistoryEntry(4, new StatusChange(ReferralStatus.Notified, At, Actor.Visitor, "Personal details erased with the referral this one repeated.")),
            Assert.Single(referralCase.NewHistory));
    }

    [Fact]
    public void New_history_is_numbered_after_the_stored_entries_and_on_after_a_save()
    {
        var referralCase = Case(ReferralStatus.Received);

        referralCase.Offer("sp-1", At, "sp-1.");
        referralCase.MarkEmailed(At);
        Assert.Equal(new[] { 2, 3 }, referralCase.NewHistory.Select(h => h.Sequence));

        referralCase.MarkSaved();
        Assert.Empty(referralCase.NewHistory);
        referralCase.Accept("sp-1", 1, At);

        Assert.Equal(4, Assert.Single(referralCase.NewHistory).Sequence);
        Assert.Equal(4, referralCase.HistoryCount);
    }

    [Fact]
    public void Marking_emailed_twice_moves_once()
    {
        var referralCase = Case(ReferralStatus.Routed);

        Assert.True(referralCase.MarkEmailed(At));
        Assert.False(referralCase.MarkEmailed(At));

        Assert.Single(referralCase.NewHistory);
    }
}
