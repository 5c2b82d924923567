using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Core.Routing;

namespace Referrals.Core.Tests;

/// <summary>The operator console's moves: assign from triage, re-route, and the resend ledger keys.</summary>
public class OperatorMovesTests
{
    private const string Id = "R-ABCDE-FGH12";
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset At = T0.AddHours(5);

    private static ReferralCase InTriage(params string[] excluded) => new(new ReferralCaseState(Id, ReferralStatus.NeedsTriage, T0)
    {
        Assignment = 2, HistoryCount = 3, RoutingExplanation = "Sent to triage.", Excluded = excluded.ToHashSet(StringComparer.Ordinal), UnansweredCount = excluded.Length,
    });

    private static ReferralCase Offered(ReferralStatus status) => new(new ReferralCaseState(Id, status, T0)
    {
        Assignment = 2, HistoryCount = 3, AssignedSpecialistId = "sp-1", AssignedAt = T0.AddHours(1), UnansweredCount = 0,
    });

    [Fact]
    public void An_operator_assigns_a_referral_in_triage_as_a_new_assignment_recorded_as_theirs()
    {
        var referralCase = InTriage();

        referralCase.Assign("sp-7", At, "Assigned by an operator.");

        Assert.Equal((ReferralStatus.Routed, "sp-7", 3, At), (referralCase.Status, referralCase.AssignedSpecialistId, referralCase.Assignment, referralCase.AssignedAt));
        Assert.Equal(new HistoryEntry(4, new StatusChange(ReferralStatus.Routed, At, Actor.Operator, "Assigned to specialist sp-7 by an operator.")), Assert.Single(referralCase.NewHistory));
        Assert.True(referralCase.HasOpenOffer);
    }

    [Theory]
    [InlineData(ReferralStatus.Received)]
    [InlineData(ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Notified)]
    [InlineData(ReferralStatus.Accepted)]
    [InlineData(ReferralStatus.Failed)]
    [InlineData(ReferralStatus.Withdrawn)]
    [InlineData(ReferralStatus.Duplicate)]
    public void Only_a_referral_in_triage_can_be_assigned(ReferralStatus status)
    {
        var referralCase = new ReferralCase(new ReferralCaseState(Id, status, T0) { HistoryCount = 2 });
        var before = referralCase.State;

        Assert.Throws<InvalidStatusTransitionException>(() => referralCase.Assign("sp-7", At, "x"));
        Assert.Same(before, referralCase.State);
        Assert.Empty(referralCase.NewHistory);
    }

    [Fact]
    public void A_specialist_who_declined_it_cannot_be_assigned_it()
    {
        var referralCase = InTriage("sp-1");

        Assert.Throws<InvalidOperationException>(() => referralCase.Assign("sp-1", At, "x"));
        Assert.Equal(ReferralStatus.NeedsTriage, referralCase.Status);
        Assert.Empty(referralCase.NewHistory);
    }

    [Theory]
    [InlineData(ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Notified)]
    public void An_operator_re_route_ends_the_open_offer_like_a_decline_and_the_next_route_names_the_operator(ReferralStatus status)
    {
        var referralCase = Offered(status);

        referralCase.RerouteByOperator();
        Assert.True(referralCase.AwaitingReroute);
        Assert.Contains("sp-1", referralCase.Excluded);
        Assert.Equal(1, referralCase.UnansweredCount);

        referralCase.Offer("sp-2", At, "sp-2 ranked first.");
        Assert.Equal(new HistoryEntry(4, new StatusChange(ReferralStatus.Routed, At, Actor.Operator, "Taken back from sp-1 by an operator. Routed to specialist sp-2.")),
            Assert.Single(referralCase.NewHistory));
        var again = Offered(status);
        again.RerouteByOperator();
        Assert.Throws<InvalidOperationException>(() => again.Offer("sp-1", At, "x"));
    }

    [Fact]
    public void An_operator_re_route_from_triage_excludes_nobody_and_may_not_end_in_triage_again()
    {
        var routed = InTriage();
        routed.RerouteByOperator();
        routed.Offer("sp-2", At, "sp-2 ranked first.");
        Assert.Equal(Actor.Operator, Assert.Single(routed.NewHistory).Change.Actor);
        Assert.Empty(routed.Excluded);

        var still = InTriage();
        still.RerouteByOperator();
        Assert.Throws<InvalidStatusTransitionException>(() => still.SendToTriage(At, "Nobody."));
    }

    [Theory]
    [InlineData(ReferralStatus.Received)]
    [InlineData(ReferralStatus.Accepted)]
    [InlineData(ReferralStatus.Failed)]
    [InlineData(ReferralStatus.Withdrawn)]
    [InlineData(ReferralStatus.Duplicate)]
    public void A_re_route_needs_an_open_offer_or_triage(ReferralStatus status)
    {
        var referralCase = new ReferralCase(new ReferralCaseState(Id, status, T0) { HistoryCount = 2, AssignedSpecialistId = "sp-1", Assignment = 1 });

        Assert.Throws<InvalidStatusTransitionException>(referralCase.RerouteByOperator);
        Assert.False(referralCase.AwaitingReroute);
    }

    [Fact]
    public void An_assignment_needs_the_visitors_state_and_treatment_but_not_capacity()
    {
        var specialist = new Specialist("sp-9", "Dr Nine", "Practice", "nine@clinic.test", new HashSet<string> { "NY" }, new HashSet<string> { "iv-ketamine-infusion", Treatments.Esketamine.Code },
            false, true, true, false, 0, new HashSet<string>(), new HashSet<string>(), [], "America/New_York");
        RoutingRequest Request(string state, string treatment, params string[] excluded) =>
            new(state, treatment, null, null, VisitPreference.Either, excluded.ToHashSet(StringComparer.Ordinal));

        Assert.Null(Router.AssignmentReason(Request("NY", "iv-ketamine-infusion"), specialist));
        Assert.Equal(Router.NotLicensed, Router.AssignmentReason(Request("NJ", "iv-ketamine-infusion"), specialist));
        Assert.Equal(Router.NoTreatment, Router.AssignmentReason(Request("NY", "oral-ketamine"), specialist));
        Assert.Equal(Router.NotRems, Router.AssignmentReason(Request("NY", Treatments.Esketamine.Code), specialist));
        Assert.Equal(Router.AlreadyExcluded, Router.AssignmentReason(Request("NY", "iv-ketamine-infusion", "sp-9"), specialist));
    }

    [Fact]
    public void A_resend_has_a_ledger_key_of_its_own_and_keeps_its_kind()
    {
        var key = EmailResend.LedgerKey("SpecialistNewReferral-2", 1);

        Assert.Equal("SpecialistNewReferral-2~resend1", key);
        Assert.Equal(("SpecialistNewReferral-2", 1), EmailResend.Parse(key));
        Assert.Null(EmailResend.Parse("VisitorConfirmation"));
        Assert.Null(EmailResend.Parse("VisitorConfirmation~resend0"));
        Assert.NotEqual(key, EmailResend.LedgerKey("SpecialistNewReferral-2", 2));
        Assert.Equal(EmailKind.VisitorConfirmation, EmailKinds.ForLedgerKey(EmailResend.LedgerKey("VisitorConfirmation", 3))?.Kind);
        Assert.Equal(EmailKind.SpecialistNewReferral, EmailKinds.ForLedgerKey(key)?.Kind);
    }

    [Fact]
    public void Resend_copies_are_the_original_email_under_the_resend_key_only_while_the_original_applies()
    {
        var confirmation = new EmailMessage(EmailKind.VisitorConfirmation, "v@example.com", "V", "s", "h", "t");
        var copies = EmailResend.Copies([confirmation], ["VisitorConfirmation~resend1", "VisitorAccepted~resend1", "VisitorConfirmation"]).ToList();

        var copy = Assert.Single(copies);
        Assert.Equal(confirmation with { LedgerKey = "VisitorConfirmation~resend1" }, copy);
    }
}
