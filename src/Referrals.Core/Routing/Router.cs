using Referrals.Core.Referrals;

namespace Referrals.Core.Routing;

/// <summary>What routing needs to know of a referral. Excluded holds specialists who declined it or let it time out.</summary>
public sealed record RoutingRequest(
    string State,
    string Treatment,
    string? Language,
    string? Insurance,
    VisitPreference VisitPreference,
    IReadOnlySet<string> Excluded);

/// <summary>
/// A specialist with their load as routing counts it: referrals they accepted this week (what weekly capacity limits)
/// and offers they have not answered yet, whatever the week they were made.
/// </summary>
public sealed record Candidate(Specialist Specialist, int AcceptedThisWeek, int OpenOffers, DateTimeOffset? LastOfferedAt);

public sealed record Exclusion(string SpecialistId, string Rule);

public sealed record RankedCandidate(string SpecialistId, int Score, IReadOnlyList<string> Matches, int AcceptedThisWeek, int OpenOffers, DateTimeOffset? LastOfferedAt);

/// <summary>
/// The outcome of routing: everyone who qualifies, best first, and for everyone else the first rule that excluded them.
/// The caller offers the referral to the first ranked candidate it can still record an offer for.
/// </summary>
public sealed record RoutingDecision(IReadOnlyList<RankedCandidate> Ranked, IReadOnlyList<Exclusion> Excluded)
{
    public bool NeedsTriage => Ranked.Count == 0;

    public string Explain(string? chosenId)
    {
        var chosen = Ranked.FirstOrDefault(r => r.SpecialistId == chosenId);
        var head = chosen is null
            ? "No specialist qualified; sent to triage."
            : $"Chose {chosen.SpecialistId}: passed every rule; matched {(chosen.Matches.Count == 0 ? "no preferences" : string.Join(", ", chosen.Matches))}; "
              + $"{chosen.AcceptedThisWeek} accepted this week, {chosen.OpenOffers} earlier offers unanswered.";
        return head;
    }
}

public static class Router
{
    public const string NotLicensed = "not licensed in the visitor's state";
    public const string NoTreatment = "does not offer the requested treatment";
    public const string NotRems = "esketamine needs a REMS-certified site";
    public const string NotAccepting = "not accepting new patients";
    public const string OutOfOffice = "out of office";
    public const string AtCapacity = "no capacity left this week: has accepted their weekly capacity";
    public const string OffersPending = "waiting on earlier offers: holds as many unanswered offers as allowed";

    /// <summary>Unanswered offers a specialist may hold at once unless Routing:MaxOpenOffers says otherwise.</summary>
    public const int DefaultMaxOpenOffers = 2;
    public const string AlreadyExcluded = "already declined or let this referral time out";

    /// <summary>
    /// Hard filters, then preferences (language 4, insurance 2, visit type 1), then the tie-breaks: the lightest load
    /// (accepted this week plus unanswered offers), longest since the last offer, and finally the id, so the same
    /// inputs give the same order.
    /// </summary>
    public static RoutingDecision Route(RoutingRequest request, IEnumerable<Candidate> candidates, DateTimeOffset now, int maxOpenOffers = DefaultMaxOpenOffers)
    {
        var ranked = new List<RankedCandidate>();
        var excluded = new List<Exclusion>();
        foreach (var candidate in candidates.OrderBy(c => c.Specialist.Id, StringComparer.Ordinal))
        {
            if (ExclusionReason(request, candidate, now, maxOpenOffers) is { } rule)
            {
                excluded.Add(new Exclusion(candidate.Specialist.Id, rule));
                continue;
            }

            var matches = Preferences(request, candidate.Specialist).ToList();
            ranked.Add(new RankedCandidate(candidate.Specialist.Id, matches.Sum(m => m.Weight), matches.Select(m => m.Name).ToList(), candidate.AcceptedThisWeek, candidate.OpenOffers, candidate.LastOfferedAt));
        }

        return new RoutingDecision(
            ranked.OrderByDescending(r => r.Score)
                .ThenBy(r => r.AcceptedThisWeek + r.OpenOffers)
                .ThenBy(r => r.LastOfferedAt ?? DateTimeOffset.MinValue)
                .ThenBy(r => r.SpecialistId, StringComparer.Ordinal)
                .ToList(),
            excluded);
    }

    /// <summary>The first hard rule a specialist fails for this request, or null when they qualify.</summary>
    public static string? ExclusionReason(RoutingRequest request, Candidate candidate, DateTimeOffset now, int maxOpenOffers = DefaultMaxOpenOffers)
    {
        var s = candidate.Specialist;
        return request.Excluded.Contains(s.Id) ? AlreadyExcluded
            : !s.LicensedStates.Contains(request.State) ? NotLicensed
            : !s.Treatments.Contains(request.Treatment) ? NoTreatment
            : request.Treatment == Treatments.Esketamine.Code && !s.RemsCertified ? NotRems
            : !s.AcceptingNewPatients ? NotAccepting
            : s.IsOutOfOffice(now) ? OutOfOffice
            : CapacityReason(s.WeeklyCapacity, candidate.AcceptedThisWeek, candidate.OpenOffers, maxOpenOffers);
    }

    /// <summary>
    /// What an operator's own choice of specialist must still meet: not one who declined it, licensed in the visitor's
    /// state, offering the treatment (with REMS for esketamine). Null when they may be assigned; capacity is checked
    /// apart, because an operator may override it.
    /// </summary>
    public static string? AssignmentReason(RoutingRequest request, Specialist s) =>
        request.Excluded.Contains(s.Id) ? AlreadyExcluded
        : !s.LicensedStates.Contains(request.State) ? NotLicensed
        : !s.Treatments.Contains(request.Treatment) ? NoTreatment
        : request.Treatment == Treatments.Esketamine.Code && !s.RemsCertified ? NotRems
        : null;

    /// <summary>
    /// The capacity rule, used both to rank and again when an offer is recorded. Capacity is counted when a specialist
    /// accepts, so offers nobody answers (a burst of fake submissions) never use up a week. Instead the offers a
    /// specialist holds unanswered are bounded: by <paramref name="maxOpenOffers"/>, and by the capacity left this week,
    /// so that if every open offer is accepted the specialist is still within capacity.
    /// </summary>
    public static string? CapacityReason(int weeklyCapacity, int acceptedThisWeek, int openOffers, int maxOpenOffers) =>
        acceptedThisWeek >= weeklyCapacity ? AtCapacity
        : openOffers >= Math.Min(maxOpenOffers, weeklyCapacity - acceptedThisWeek) ? OffersPending
        : null;

    private static IEnumerable<(string Name, int Weight)> Preferences(RoutingRequest request, Specialist s)
    {
        if (request.Language is { } language && s.Languages.Contains(language))
        {
            yield return ("language", 4);
        }

        if (request.Insurance is { } insurance && s.InsuranceNetworks.Any(n => n.Equals(insurance, StringComparison.OrdinalIgnoreCase)))
        {
            yield return ("insurance network", 2);
        }

        if ((request.VisitPreference == VisitPreference.Telehealth && s.Telehealth) || (request.VisitPreference == VisitPreference.InPerson && s.InPerson))
        {
            yield return ("visit type", 1);
        }
    }

    /// <summary>The week that capacity counts in: Monday to Sunday, UTC.</summary>
    public static string WeekOf(DateTimeOffset now) =>
        $"{System.Globalization.ISOWeek.GetYear(now.UtcDateTime)}-W{System.Globalization.ISOWeek.GetWeekOfYear(now.UtcDateTime):D2}";
}
