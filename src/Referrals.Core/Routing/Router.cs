using Referrals.Core.Referrals;

namespace Referrals.Core.Routing;

/// <summary>The outcome of routing one referral: a specialist, or nobody (triage).</summary>
public sealed record RoutingDecision(Specialist? Specialist, string Explanation)
{
    public bool NeedsTriage => Specialist is null;
}

public static class Router
{
    /// <summary>
    /// Picks the first specialist, in id order so the choice is repeatable, who is licensed in the referral's state,
    /// offers the treatment and accepts new patients.
    /// </summary>
    public static RoutingDecision Route(Referral referral, IEnumerable<Specialist> specialists)
    {
        var candidates = specialists.OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        foreach (var specialist in candidates)
        {
            if (ExclusionReason(referral, specialist) is null)
            {
                return new RoutingDecision(specialist, $"{specialist.Id} is licensed in {referral.State}, offers {referral.Treatment} and accepts new patients.");
            }
        }

        return new RoutingDecision(null, candidates.Count == 0
            ? "The specialist directory is empty."
            : $"None of {candidates.Count} specialists is licensed in {referral.State}, offers {referral.Treatment} and accepts new patients.");
    }

    public static string? ExclusionReason(Referral referral, Specialist specialist) =>
        !specialist.LicensedStates.Contains(referral.State) ? "not licensed in the visitor's state"
        : !specialist.Treatments.Contains(referral.Treatment) ? "does not offer the requested treatment"
        : !specialist.AcceptingNewPatients ? "not accepting new patients"
        : null;
}
