using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>Routes a received referral to a specialist, or to triage.</summary>
public sealed class RouteReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.NotificationQueue)] QueueClient notificationQueue,
    ReferralRouter router)
{
    [Function(nameof(RouteReferral))]
    public async Task Run(
        [QueueTrigger(StorageNames.IntakeQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken)
    {
        var referral = await referrals.FindReferralAsync(message.ReferralId, cancellationToken)
            ?? throw new InvalidOperationException($"Referral {message.ReferralId} does not exist.");

        if (referral.IsErased)
        {
            return; // withdrawn or erased while the message waited: nothing is routed or sent about it again
        }

        if (referral.CurrentStatus == ReferralStatus.Received)
        {
            await router.RouteAsync(referral, Actor.System, "", prepare: null, cancellationToken);
        }
        else
        {
            // A redelivery after a crash between routing and queueing: notifications are idempotent, so queue again.
            await notificationQueue.SendReferralAsync(referral.PartitionKey, cancellationToken);
        }
    }
}
