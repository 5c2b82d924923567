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

    private static Candidate C(Specialist s, int assigned = 0, DateTimeOffset? last = null) => new(s, assigned, last);

    [Theory]
    [InlineData("licensed", Router.NotLicensed)]
    [InlineData("treatment", Router.NoTreatment)]
    [InlineData("rems", Router.NotRems)]
    [InlineData("accepting", Router.NotAccepting)]
    [InlineData("away", Router.OutOfOffice)]
    [InlineData("capacity", Router.AtCapacity)]
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
            "capacity" => (Request(), C(Specialist("a", capacity: 3), assigned: 3)),
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
    public void Ties_go_to_the_fewest_assignments_this_week_then_the_longest_since_the_last()
    {
        var decision = Router.Route(Request(),
        [
            C(Specialist("busy"), assigned: 2, last: Now.AddHours(-30)),
            C(Specialist("recent"), assigned: 1, last: Now.AddHours(-1)),
            C(Specialist("waiting"), assigned: 1, last: Now.AddHours(-20)),
            C(Specialist("never"), assigned: 1),
        ], Now);

        Assert.Equal(["never", "waiting", "recent", "busy"], decision.Ranked.Select(r => r.SpecialistId));
    }

    [Fact]
    public void The_explanation_names_the_choice_and_the_first_rule_that_excluded_each_other_specialist()
    {
        var decision = Router.Route(Request(), [C(Specialist("a")), C(Specialist("b", states: ["CA"], accepting: false))], Now);

        Assert.Contains("Chose a", decision.Explain("a"));
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

    private static Arbitrary<(RoutingRequest Request, Candidate[] Candidates)> Scenarios() =>
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
             from assigned in Gen.Choose(0, 5)
             select C(Specialist($"sp-{id:D2}", [.. specialistStates], [.. treatments], accepting, capacity, rems), assigned), count)
         from excluded in Gen.SubListOf(Enumerable.Range(1, 12).Select(i => $"sp-{i:D2}").ToArray())
         select (Request(state, treatment, excluded: [.. excluded]), candidates.DistinctBy(c => c.Specialist.Id).ToArray())).ToArbitrary();

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Never_ranks_an_excluded_specialist() =>
        Prop.ForAll(Scenarios(), scenario =>
            Router.Route(scenario.Request, scenario.Candidates, Now).Ranked.All(r => !scenario.Request.Excluded.Contains(r.SpecialistId)));

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Never_ranks_a_specialist_without_capacity_left() =>
        Prop.ForAll(Scenarios(), scenario =>
            Router.Route(scenario.Request, scenario.Candidates, Now).Ranked.All(r =>
                scenario.Candidates.Single(c => c.Specialist.Id == r.SpecialistId) is var c && c.AssignedThisWeek < c.Specialist.WeeklyCapacity));

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property Every_candidate_is_either_ranked_or_excluded_with_a_reason_and_the_order_is_repeatable() =>
        Prop.ForAll(Scenarios(), scenario =>
        {
            var first = Router.Route(scenario.Request, scenario.Candidates, Now);
            var again = Router.Route(scenario.Request, scenario.Candidates.Reverse(), Now);
            return first.Ranked.Count + first.Excluded.Count == scenario.Candidates.Length
                && first.Ranked.Select(r => r.SpecialistId).SequenceEqual(again.Ranked.Select(r => r.SpecialistId))
                && first.Ranked.All(r => Router.ExclusionReason(scenario.Request, scenario.Candidates.Single(c => c.Specialist.Id == r.SpecialistId), Now) is null);
        });
}
