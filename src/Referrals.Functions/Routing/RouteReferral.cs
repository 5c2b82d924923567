using Azure;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Observability;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>Routes a received referral to a specialist, or to triage. Urgent referrals come from their own queue.</summary>
public sealed class RouteReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    PipelineQueues queues,
    ReferralRouter router,
    QueueConsumer? telemetry = null)
{
    [Function(nameof(RouteReferral))]
    public Task Run(
        [QueueTrigger(StorageNames.IntakeQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken,
        DateTimeOffset? insertionTime = null) =>
        telemetry.ConsumeAsync(StorageNames.IntakeQueue, "route", message, insertionTime, () => RouteAsync(message, cancellationToken));

    /// <summary>Its own trigger, so an urgent referral never waits behind a backlog of ordinary ones.</summary>
    [Function("RouteUrgentReferral")]
    public Task RunUrgent(
        [QueueTrigger(StorageNames.UrgentIntakeQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken,
        DateTimeOffset? insertionTime = null) =>
        telemetry.ConsumeAsync(StorageNames.UrgentIntakeQueue, "route", message, insertionTime, () => RouteAsync(message, cancellationToken));

    // As the operators' assign and reroute: a referral that keeps changing fails the attempt for the queue to retry.
    private const int MaxDecisions = 3;

    private async Task RouteAsync(ReferralMessage message, CancellationToken cancellationToken)
    {
        var referral = await FindAsync(message, cancellationToken);
        if (referral is { IsErased: false, CurrentStatus: ReferralStatus.Received, Urgent: true })
        {
            // The operators' alert (and the visitor's confirmation) go out now, not after routing or its retries:
            // once per delivery, however many decisions routing takes.
            await queues.NotifyAsync(referral, cancellationToken);
        }

        for (var decision = 1; ; decision++)
        {
            try
            {
                await DecideAsync(referral, cancellationToken);
                return;
            }
            catch (RequestFailedException e) when (e.IsConflict() && decision < MaxDecisions)
            {
                // The row changed since it was read, most often by the emails just queued recording themselves on it:
                // decide again on what is there now rather than wait out a visibility timeout. The router has
                // already given back the offer it counted.
                referral = await FindAsync(message, cancellationToken);
            }
        }
    }

    private async Task<ReferralEntity> FindAsync(ReferralMessage message, CancellationToken cancellationToken) =>
        // The exception names no referral: a failure is logged next to the queue's name, which says urgent.
        await referrals.FindReferralAsync(message.ReferralId, cancellationToken)
            ?? throw new InvalidOperationException("The referral named in the message does not exist.");

    private async Task DecideAsync(ReferralEntity referral, CancellationToken cancellationToken)
    {
        if (referral.IsErased)
        {
            return; // withdrawn or erased while the message waited: nothing is routed or sent about it again
        }

        if (referral.CurrentStatus == ReferralStatus.Received)
        {
            await router.RouteAsync(referral, referral.ToCase(), cancellationToken);
        }
        else if (referral.CurrentStatus == ReferralStatus.Duplicate)
        {
            // A repeat's stub (its request may have queued it before it was found to repeat): never routed.
        }
        else
        {
            // A redelivery after a crash between routing and queueing: notifications are idempotent, so queue again.
            await queues.NotifyAsync(referral, cancellationToken);
        }
    }
}
