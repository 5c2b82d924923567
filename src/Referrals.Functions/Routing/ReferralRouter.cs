using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Core.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>
/// Routes and re-routes referrals: ranks specialists with the Core rules, records an offer to the best one the capacity
/// rule still allows, records the decision with its explanation, moves the referral and queues its notifications.
/// </summary>
public sealed partial class ReferralRouter(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    PipelineQueues queues,
    SpecialistDirectory directory,
    IOptions<RoutingOptions> options,
    TimeProvider clock,
    ILogger<ReferralRouter> logger)
{
    public const string DecisionRowPrefix = "routing-";

    /// <summary>
    /// Routes <paramref name="referral"/> (read with its ETag). <paramref name="prepare"/> applies the caller's own
    /// changes (a decline, a timeout) in the same write as the new assignment.
    /// </summary>
    public async Task<ReferralStatus> RouteAsync(ReferralEntity referral, Actor actor, string reason, Action<ReferralEntity>? prepare, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        prepare?.Invoke(referral);
        Specialist? chosen = null;
        RoutingDecision? decision = null;
        var week = Router.WeekOf(now);
        if (referral.UnansweredCount < options.Value.MaxUnanswered)
        {
            var candidates = await directory.CandidatesAsync(week, cancellationToken);
            decision = Router.Route(Request(referral), candidates, now, options.Value.MaxOpenOffers);
            var refused = new List<Exclusion>();
            foreach (var ranked in decision.Ranked)
            {
                var specialist = candidates.Single(c => c.Specialist.Id == ranked.SpecialistId).Specialist;
                if (await directory.OfferAsync(week, specialist, options.Value.MaxOpenOffers, now, cancellationToken) is { } rule)
                {
                    refused.Add(new Exclusion(specialist.Id, rule));
                    continue;
                }

                chosen = specialist;
                break;
            }

            // Who lost to a concurrent offer or acceptance is recorded under the rule that stopped them, not as ranked.
            decision = decision with
            {
                Ranked = decision.Ranked.Where(r => refused.All(x => x.SpecialistId != r.SpecialistId)).ToList(),
                Excluded = [.. decision.Excluded, .. refused],
            };
        }

        var explanation = decision is null
            ? $"Sent to triage: {referral.UnansweredCount} specialists declined or did not answer."
            : decision.Explain(chosen?.Id);
        var change = chosen is null
            ? new StatusChange(ReferralStatus.NeedsTriage, now, actor, $"{reason} {explanation}".Trim())
            : new StatusChange(ReferralStatus.Routed, now, actor, $"{reason} Routed to specialist {chosen.Id}.".Trim());
        try
        {
            // The decision row commits with the transition: after an erasure the ETag refuses both, so the
            // decision (which gives away state and treatment) can never be written behind it.
            var decisionRow = DecisionRow(referral.PartitionKey, referral.Assignment + 1, decision, chosen, explanation, now);
            await referrals.TransitionAsync(referral, change, r =>
            {
                r.AssignedSpecialistId = chosen?.Id;
                r.AssignedAt = chosen is null ? null : now;
                r.Assignment++;
                r.RoutingExplanation = explanation;
            }, [decisionRow], cancellationToken);
        }
        catch
        {
            if (chosen is not null)
            {
                await directory.ReleaseOfferAsync(chosen.Id, CancellationToken.None);
            }

            throw;
        }

        await queues.NotifyAsync(referral, cancellationToken);
        LogRouted(referral.PartitionKey, referral.Status, chosen?.Id, referral.Assignment);
        return referral.CurrentStatus;
    }

    /// <summary>Ends the current assignment unanswered (declined or timed out), releases its open offer and routes again.</summary>
    public async Task<ReferralStatus> RerouteAsync(ReferralEntity referral, Actor actor, string reason, Action<ReferralEntity>? prepare, CancellationToken cancellationToken)
    {
        var previous = referral.AssignedSpecialistId ?? throw new InvalidOperationException($"Referral {referral.PartitionKey} has no assignment to end.");
        var status = await RouteAsync(referral, actor, reason, r =>
        {
            r.Excluded = string.Join(',', r.ExcludedIds.Append(previous).Distinct());
            r.UnansweredCount++;
            prepare?.Invoke(r);
        }, cancellationToken);
        await directory.ReleaseOfferAsync(previous, cancellationToken);
        return status;
    }

    private static RoutingRequest Request(ReferralEntity referral) =>
        new(referral.State, referral.Treatment, referral.Language, referral.Insurance,
            Enum.TryParse<VisitPreference>(referral.VisitPreference, out var visit) ? visit : VisitPreference.Either, referral.ExcludedIds);

    /// <summary>One row per routing decision in the referral's partition, for operators: who was chosen, and why not the others.</summary>
    private static TableEntity DecisionRow(string referralId, int assignment, RoutingDecision? decision, Specialist? chosen, string explanation, DateTimeOffset at) =>
        new(referralId, $"{DecisionRowPrefix}{assignment:D5}")
        {
            ["At"] = at,
            ["ChosenSpecialistId"] = chosen?.Id,
            ["Explanation"] = explanation,
            ["Ranked"] = JsonSerializer.Serialize(decision?.Ranked ?? []),
            ["Excluded"] = JsonSerializer.Serialize(decision?.Excluded ?? []),
        };

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} is {Status} (specialist {SpecialistId}, assignment {Assignment})")]
    private partial void LogRouted(string referralId, string status, string? specialistId, int assignment);
}
