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

    private async Task RouteAsync(ReferralMessage message, CancellationToken cancellationToken)
    {
        // The exception names no referral: a failure is logged next to the queue's name, which says urgent.
        var referral = await referrals.FindReferralAsync(message.ReferralId, cancellationToken)
            ?? throw new InvalidOperationException("The referral named in the message does not exist.");

        if (referral.IsErased)
        {
            return; // withdrawn or erased while the message waited: nothing is routed or sent about it again
        }

        if (referral.CurrentStatus == ReferralStatus.Received)
        {
            if (referral.Urgent)
            {
                // The operators' alert (and the visitor's confirmation) go out now, not after routing or its retries.
                await queues.NotifyAsync(referral, cancellationToken);
            }

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
