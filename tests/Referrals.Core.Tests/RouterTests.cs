using Referrals.Core.Referrals;
using Referrals.Core.Routing;

namespace Referrals.Core.Tests;

public class RouterTests
{
    private static readonly Referral NewYorkInfusion =
        new("R-00000-00000", "Jane Doe", "jane@example.com", "NY", Treatments.IvInfusion.Code, ReferralStatus.Received, DateTimeOffset.UnixEpoch);

    private static Specialist Specialist(string id, string[] states, string[] treatments, bool accepting = true) =>
        new(id, $"Dr {id}", $"{id}@example.org", states.ToHashSet(), treatments.ToHashSet(), accepting);

    [Fact]
    public void Picks_a_specialist_licensed_in_the_state_who_offers_the_treatment()
    {
        var decision = Router.Route(NewYorkInfusion,
        [
            Specialist("a", ["CA"], [Treatments.IvInfusion.Code]),
            Specialist("b", ["NY"], [Treatments.Oral.Code]),
            Specialist("c", ["NY", "NJ"], [Treatments.IvInfusion.Code]),
        ]);

        Assert.Equal("c", decision.Specialist?.Id);
        Assert.False(decision.NeedsTriage);
    }

    [Fact]
    public void Skips_specialists_not_accepting_new_patients()
    {
        var decision = Router.Route(NewYorkInfusion,
        [
            Specialist("a", ["NY"], [Treatments.IvInfusion.Code], accepting: false),
            Specialist("b", ["NY"], [Treatments.IvInfusion.Code]),
        ]);

        Assert.Equal("b", decision.Specialist?.Id);
    }

    [Fact]
    public void The_choice_does_not_depend_on_the_order_specialists_are_listed_in()
    {
        var specialists = new[]
        {
            Specialist("z", ["NY"], [Treatments.IvInfusion.Code]),
            Specialist("m", ["NY"], [Treatments.IvInfusion.Code]),
        };

        Assert.Equal("m", Router.Route(NewYorkInfusion, specialists).Specialist?.Id);
        Assert.Equal("m", Router.Route(NewYorkInfusion, specialists.Reverse()).Specialist?.Id);
    }

    [Fact]
    public void Goes_to_triage_when_nobody_fits()
    {
        var decision = Router.Route(NewYorkInfusion, [Specialist("a", ["CA"], [Treatments.IvInfusion.Code])]);

        Assert.True(decision.NeedsTriage);
        Assert.Null(decision.Specialist);
    }

    [Fact]
    public void Says_why_each_specialist_was_excluded()
    {
        Assert.Equal("not licensed in the visitor's state", Router.ExclusionReason(NewYorkInfusion, Specialist("a", ["CA"], [Treatments.IvInfusion.Code])));
        Assert.Equal("does not offer the requested treatment", Router.ExclusionReason(NewYorkInfusion, Specialist("a", ["NY"], [Treatments.Oral.Code])));
        Assert.Equal("not accepting new patients", Router.ExclusionReason(NewYorkInfusion, Specialist("a", ["NY"], [Treatments.IvInfusion.Code], accepting: false)));
    }
}
