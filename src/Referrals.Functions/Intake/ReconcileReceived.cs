using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// Nothing accepted is lost: a referral still Received after ReconcileAfter (its intake message never sent, or lost)
/// is queued again. Routing is idempotent, so a second message for a referral already routed does no harm.
/// </summary>
public sealed partial class ReconcileReceived(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.IntakeQueue)] QueueClient intakeQueue,
    IOptions<IntakeOptions> options,
    TimeProvider clock,
    ILogger<ReconcileReceived> logger)
{
    [Function(nameof(ReconcileReceived))]
    public async Task Run([TimerTrigger("0 */1 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        await RequeueStuckAsync(cancellationToken);

    public async Task<int> RequeueStuckAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow() - options.Value.ReconcileAfter;
        var filter = TableClient.CreateQueryFilter($"RowKey eq {ReferralEntity.RowKeyValue} and Status eq {nameof(ReferralStatus.Received)} and ReceivedAt lt {cutoff}");
        var requeued = 0;
        await foreach (var stuck in referrals.QueryAsync<ReferralEntity>(filter, select: [nameof(ITableEntity.PartitionKey), nameof(ReferralEntity.Status), nameof(ReferralEntity.ErasedAt)], cancellationToken: cancellationToken))
        {
            if (stuck.IsErased)
            {
                continue; // erased under the retention policy: kept as a Received stub, never routed
            }

            await intakeQueue.SendReferralAsync(stuck.PartitionKey, cancellationToken);
            LogRequeued(stuck.PartitionKey);
            requeued++;
        }

        return requeued;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId} was still Received; queued it again for routing")]
    private partial void LogRequeued(string referralId);
}
