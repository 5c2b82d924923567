using FsCheck;
using FsCheck.Fluent;
using Referrals.Core.Referrals;
using Referrals.Core.Routing;

namespace Referrals.Core.Tests;

public class RouterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 15, 0, 0, TimeSpan.Zero);

    private static RoutingRequest Request(string state = "NY", string treatment = "iv-ketamine-infusion", string? language = null, string? insurance = null,
        VisitPreference visit = VisitPreference.Either, params string[] excluded) =>
        new(state, treatment, language, insurance, visit, excluded.ToHashSet());

    internal static Specialist Specialist(string id, string[]? states = null, string[]? treatments = null, bool accepting = true, int capacity = 5,
        bool rems = false, string[]? languages = null, string[]? insurance = null, bool telehealth = true, bool inPerson = true, OutOfOffice[]? away = null) =>
        new(id, $"Dr {id}", "Practice", $"{id}@example.org", (states ?? ["NY"]).ToHashSet(), (treatments ?? ["iv-ketamine-infusion"]).ToHashSet(), rems,
            telehealth, inPerson, accepting, capacity, (languages ?? ["en"]).ToHashSet(), (insurance ?? []).ToHashSet(), away ?? [], "America/New_York");

    private static Candidate C(Specialist s, int accepted = 0, int open = 0, DateTimeOffset? last = null) => new(s, accepted, open, last);

    [Theory]
    [InlineData("licensed", Router.NotLicensed)]
    [InlineData("treatment", Router.NoTreatment)]
    [InlineData("rems", Router.NotRems)]
    [InlineData("accepting", Router.NotAccepting)]
    [InlineData("away", Router.OutOfOffice)]
    [InlineData("capacity", Router.AtCapacity)]
    [InlineData("offers", Router.OffersPending)]
    [InlineData("declined", Router.AlreadyExcluded)]
    public void Each_hard_filter_excludes_with_its_reason(string failing, string reason)
    {
        var (request, candidate) = failing switch
        {
            "licensed" => (Request(), C(Specialist("a", states: ["CA"]))),
            "treatment" => (Request(), C(Specialist("a", treatments: ["oral-ketamine"]))),
            "rems" => (Request(treatment: "esketamine-nasal-spray"), C(Specialist("a", treatments: ["esketamine-nasal-spray"], rems: false))),
            "accepting" => (Request(), C(Specialist("a", accepting: false))),
            "away" => (Request(), C(Specialist("a", away: [new OutOfOffice(new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 30))]))),
            "capacity" => (Request(), C(Specialist("a", capacity: 3), accepted: 3)),
            "offers" => (Request(), C(Specialist("a", capacity: 5), open: Router.DefaultMaxOpenOffers)),
            _ => (Request(excluded: "a"), C(Specialist("a"))),
        };

        var decision = Router.Route(request, [candidate], Now);

        Assert.True(decision.NeedsTriage);
        Assert.Equal(new Exclusion("a", reason), Assert.Single(decision.Excluded));
    }

    [Fact]
    public void Esketamine_is_routed_to_rems_certified_sites()
    {
        var decision = Router.Route(Request(treatment: "esketamine-nasal-spray"), [C(Specialist("a", treatments: ["esketamine-nasal-spray"], rems: true))], Now);

        Assert.Equal("a", Assert.Single(decision.Ranked).SpecialistId);
    }

    [Fact]
    public void Out_of_office_uses_the_specialists_own_time_zone()
    {
        // 03:00 UTC on 21 Nov is still 20 Nov in New York, before the time away starts.
        var away = C(Specialist("a", away: [new OutOfOffice(new DateOnly(2026, 11, 21), new DateOnly(2026, 11, 22))]));

        Assert.False(Router.Route(Request(), [away], new DateTimeOffset(2026, 11, 21, 3, 0, 0, TimeSpan.Zero)).NeedsTriage);
        Assert.True(Router.Route(Request(), [away], new DateTimeOffset(2026, 11, 21, 6, 0, 0, TimeSpan.Zero)).NeedsTriage);
    }

    [Fact]
    public void Language_outranks_insurance_which_outranks_visit_type()
    {
        var decision = Router.Route(Request(language: "es", insurance: "aetna", visit: VisitPreference.Telehealth),
        [
            C(Specialist("visit", telehealth: true)),
            C(Specialist("insurance", insurance: ["Aetna"], telehealth: false)),
            C(Specialist("language", languages: ["en", "es"], telehealth: false)),
        ], Now);

        Assert.Equal(["language", "insurance", "visit"], decision.Ranked.Select(r => r.SpecialistId));
        Assert.Equal(["insurance network"], decision.Ranked[1].Matches);
    }

    [Fact]
    public void Ties_go_to_the_lightest_load_then_the_longest_since_the_last_offer()
    {
        // Load is what a specialist accepted this week plus the offers they have not answered yet.
        var decision = Router.Route(Request(),
        [
            C(Specialist("busy"), accepted: 1, open: 1, last: Now.AddHours(-30)),
            C(Specialist("recent"), accepted: 1, last: Now.AddHours(-1)),
            C(Specialist("waiting"), open: 1, last: Now.AddHours(-20)),
            C(Specialist("never"), accepted: 1),
        ], Now);

        Assert.Equal(["never", "waiting", "recent", "busy"], decision.Ranked.Select(r => r.SpecialistId));
    }

    [Fact]
    public void Offers_nobody_answers_never_use_up_capacity_but_are_bounded()
    {
        // Weekly capacity 4, nothing accepted: four unanswered offers would have used the week up when capacity was
        // counted on offering. Now they count only against the bound on open offers.
        Assert.Equal(Router.OffersPending, Router.ExclusionReason(Request(), C(Specialist("a", capacity: 4), open: 2), Now, maxOpenOffers: 2));
        Assert.Null(Router.ExclusionReason(Request(), C(Specialist("a", capacity: 4), open: 1), Now, maxOpenOffers: 2));
        Assert.Null(Router.ExclusionReason(Request(), C(Specialist("a", capacity: 4), open: 3), Now, maxOpenOffers: 10));
        Assert.Equal(Router.AtCapacity, Router.ExclusionReason(Request(), C(Specialist("a", capacity: 4), accepted: 4), Now, maxOpenOffers: 10));
    }

    [Fact]
    public void The_bound_on_open_offers_shrinks_to_the_capacity_left_this_week()
    {
        // Capacity 3 with 2 accepted leaves room for one more: a second open offer could take the week past capacity.
        Assert.Null(Router.ExclusionReason(Request(), C(Specialist("a", capacity: 3), accepted: 2), Now, maxOpenOffers: 2));
        Assert.Equal(Router.OffersPending, Router.ExclusionReason(Request(), C(Specialist("a", capacity: 3), accepted: 2, open: 1), Now, maxOpenOffers: 2));
        Assert.Null(Router.ExclusionReason(Request(), C(Specialist("a", capacity: 3), accepted: 1, open: 1), Now, maxOpenOffers: 2));
    }

    [Fact]
    public void The_explanation_names_the_choice_and_the_first_rule_that_excluded_each_other_specialist()
    {
        var decision = Router.Route(Request(), [C(Specialist("a")), C(Specialist("b", states: ["CA"], accepting: false))], Now);

        Assert.Contains("Chose a", decision.Explain("a"));
        Assert.Contains("0 accepted this week, 0 earlier offers unanswered", decision.Explain("a"));
        Assert.Equal(Router.NotLicensed, Assert.Single(decision.Excluded).Rule);
        Assert.Equal("No specialist qualified; sent to triage.", decision.Explain(null));
    }

    [Fact]
    public void Weeks_run_monday_to_sunday_in_utc()
    {
        Assert.Equal("2026-W48", Router.WeekOf(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal("2026-W48", Router.WeekOf(new DateTimeOffset(2026, 11, 29, 23, 59, 0, TimeSpan.Zero)));
        Assert.Equal("2026-W49", Router.WeekOf(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero)));
    }

    private static readonly string[] States = ["NY", "NJ", "CA"];
    private static readonly string[] TreatmentCodes = ["iv-ketamine-infusion", "esketamine-nasal-spray", "oral-ketamine"];

    private static Arbitrary<(RoutingRequest Request, Candidate[] Candidates, int MaxOpenOffers)> Scenarios() =>
        (from state in Gen.Elements(States)
         from treatment in Gen.Elements(TreatmentCodes)
         from count in Gen.Choose(0, 8)
         from candidates in Gen.ArrayOf(
             from id in Gen.Choose(1, 12)
             from specialistStates in Gen.SubListOf(States)
             from treatments in Gen.SubListOf(TreatmentCodes)
             from rems in Gen.Elements(true, false)
             from accepting in Gen.Elements(true, false)
             from capacity in Gen.Choose(0, 4)
             from accepted in Gen.Choose(0, 5)
             from open in Gen.Choose(0, 4)
             select C(Specialist($"sp-{id:D2}", [.. specialistStates], [.. treatments], accepting, capacity, rems), accepted, open), count)
         from excluded in Gen.SubListOf(Enumerable.Range(1, 12).Select(i => $"sp-{i:D2}").ToArray())
         from maxOpenOffers in Gen.Choose(1, 3)
         select (Request(state, treatment, excluded: [.. excluded]), candidates.DistinctBy(c => c.Specialist.Id).ToArray(), maxOpenOffers)).ToArbitrary();

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Never_ranks_an_excluded_specialist() =>
        Prop.ForAll(Scenarios(), scenario =>
            Router.Route(scenario.Request, scenario.Candidates, Now, scenario.MaxOpenOffers).Ranked.All(r => !scenario.Request.Excluded.Contains(r.SpecialistId)));

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Never_ranks_a_specialist_who_accepted_their_weekly_capacity() =>
        Prop.ForAll(Scenarios(), scenario =>
            Router.Route(scenario.Request, scenario.Candidates, Now, scenario.MaxOpenOffers).Ranked.All(r =>
                scenario.Candidates.Single(c => c.Specialist.Id == r.SpecialistId) is var c && c.AcceptedThisWeek < c.Specialist.WeeklyCapacity));

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Never_ranks_a_specialist_whom_one_more_offer_would_take_past_the_bound_or_the_capacity_left() =>
        Prop.ForAll(Scenarios(), scenario =>
            Router.Route(scenario.Request, scenario.Candidates, Now, scenario.MaxOpenOffers).Ranked.All(r =>
                scenario.Candidates.Single(c => c.Specialist.Id == r.SpecialistId) is var c
                && c.OpenOffers + 1 <= scenario.MaxOpenOffers
                && c.AcceptedThisWeek + c.OpenOffers + 1 <= c.Specialist.WeeklyCapacity));

    /// <summary>Referrals arriving, specialists accepting and declining, in any order; each new referral goes to the first ranked.</summary>
    private static Arbitrary<(int MaxOpenOffers, int[] Capacities, (int Kind, int Pick)[] Steps)> Simulations() =>
        (from maxOpenOffers in Gen.Choose(1, 3)
         from specialists in Gen.Choose(1, 4)
         from capacities in Gen.ArrayOf(Gen.Choose(0, 4), specialists)
         from length in Gen.Choose(0, 40)
         from steps in Gen.ArrayOf(from kind in Gen.Choose(0, 2) from pick in Gen.Choose(0, 3) select (kind, pick), length)
         select (maxOpenOffers, capacities, steps)).ToArbitrary();

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Whatever_specialists_answer_open_offers_stay_within_the_bound_and_acceptances_within_capacity() =>
        Prop.ForAll(Simulations(), simulation =>
        {
            var (maxOpenOffers, capacities, steps) = simulation;
            var specialists = capacities.Select((capacity, i) => Specialist($"sp-{i}", capacity: capacity)).ToArray();
            var accepted = new int[specialists.Length];
            var open = new int[specialists.Length];
            foreach (var (kind, pick) in steps)
            {
                var i = pick % specialists.Length;
                if (kind == 0)
                {
                    var decision = Router.Route(Request(), specialists.Select((s, k) => new Candidate(s, accepted[k], open[k], null)), Now, maxOpenOffers);
                    if (decision.Ranked.Count > 0)
                    {
                        open[Array.FindIndex(specialists, s => s.Id == decision.Ranked[0].SpecialistId)]++;
                    }
                }
                else if (open[i] > 0)
                {
                    open[i]--;
                    accepted[i] += kind == 1 ? 1 : 0; // 1 accepts; 2 declines, times out or is withdrawn
                }

                if (Enumerable.Range(0, specialists.Length).Any(k => open[k] > maxOpenOffers || accepted[k] + open[k] > capacities[k]))
                {
                    return false;
                }
            }

            return true;
        });

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Every_candidate_is_either_ranked_or_excluded_with_a_reason_and_the_order_is_repeatable() =>
        Prop.ForAll(Scenarios(), scenario =>
        {
            var first = Router.Route(scenario.Request, scenario.Candidates, Now, scenario.MaxOpenOffers);
            var again = Router.Route(scenario.Request, scenario.Candidates.Reverse(), Now, scenario.MaxOpenOffers);
            return first.Ranked.Count + first.Excluded.Count == scenario.Candidates.Length
                && first.Ranked.Select(r => r.SpecialistId).SequenceEqual(again.Ranked.Select(r => r.SpecialistId))
                && first.Ranked.All(r => Router.ExclusionReason(scenario.Request, scenario.Candidates.Single(c => c.Specialist.Id == r.SpecialistId), Now, scenario.MaxOpenOffers) is null);
        });
}
