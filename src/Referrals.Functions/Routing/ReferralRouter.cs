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
    /// Routes <paramref name="referral"/> (read with its ETag) as <paramref name="referralCase"/> (loaded from it, with the
    /// caller's decline or timeout if any) says, in the same write as the new assignment.
    /// </summary>
    /// <param name="alongside">Rows of the referral's partition to commit with it (an operator's audit row).</param>
    public async Task<ReferralStatus> RouteAsync(ReferralEntity referral, ReferralCase referralCase, CancellationToken cancellationToken, IReadOnlyList<ITableEntity>? alongside = null)
    {
        var now = clock.GetUtcNow();
        Specialist? chosen = null;
        RoutingDecision? decision = null;
        var week = Router.WeekOf(now);
        if (referralCase.UnansweredCount < options.Value.MaxUnanswered)
        {
            var candidates = await directory.CandidatesAsync(week, cancellationToken);
            decision = Router.Route(Request(referral, referralCase), candidates, now, options.Value.MaxOpenOffers);
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
            ? $"Sent to triage: {referralCase.UnansweredCount} specialists declined or did not answer."
            : decision.Explain(chosen?.Id);
        try
        {
            // The decision row commits with the transition: after an erasure the ETag refuses both, so the
            // decision (which gives away state and treatment) can never be written behind it.
            var decisionRow = DecisionRow(referral.PartitionKey, referral.Assignment + 1, decision, chosen, explanation, now);
            if (chosen is null)
            {
                referralCase.SendToTriage(now, explanation);
            }
            else
            {
                referralCase.Offer(chosen.Id, now, explanation);
            }

            await referrals.SaveAsync(referral, referralCase, [decisionRow, .. alongside ?? []], cancellationToken);
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

    /// <summary>Routes again after <paramref name="referralCase"/> recorded a decline or timeout, and releases the ended offer.</summary>
    public async Task<ReferralStatus> RerouteAsync(ReferralEntity referral, ReferralCase referralCase, CancellationToken cancellationToken, IReadOnlyList<ITableEntity>? alongside = null)
    {
        var previous = referral.AssignedSpecialistId ?? throw new InvalidOperationException($"Referral {referral.PartitionKey} has no assignment to end.");
        var status = await RouteAsync(referral, referralCase, cancellationToken, alongside);
        await directory.ReleaseOfferAsync(previous, cancellationToken);
        return status;
    }

    private static RoutingRequest Request(ReferralEntity referral, ReferralCase referralCase) =>
        new(referral.State, referral.Treatment, referral.Language, referral.Insurance,
            Enum.TryParse<VisitPreference>(referral.VisitPreference, out var visit) ? visit : VisitPreference.Either, referralCase.Excluded);

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
