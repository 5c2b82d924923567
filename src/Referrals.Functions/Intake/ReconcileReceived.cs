using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// Nothing accepted is lost: a referral still Received after ReconcileAfter (its request died before it was claimed
/// or queued, or its intake message was lost) has its claims completed and is queued again, unless a completed
/// attempt of the same request (or a live referral it repeats) already holds them: then it becomes a stub. Routing
/// is idempotent, so a second message for a referral already routed does no harm.
/// </summary>
public sealed partial class ReconcileReceived(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    PipelineQueues queues,
    IntakeService intake,
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
        await foreach (var stuck in referrals.QueryAsync<ReferralEntity>(filter, cancellationToken: cancellationToken))
        {
            if (stuck.IsErased)
            {
                continue; // erased under the retention policy: kept as a Received stub, never routed
            }

            try
            {
                if (!await intake.CompleteAsync(stuck, cancellationToken))
                {
                    continue;
                }

                await queues.RouteAsync(stuck.PartitionKey, stuck.Urgent, cancellationToken);
            }
            catch (Azure.RequestFailedException e)
            {
                // One referral changed under us (or storage hiccuped): the next run looks at it again.
                LogRetryLater(e, stuck.PartitionKey);
                continue;
            }

            LogRequeued(stuck.PartitionKey);
            requeued++;
        }

        return requeued;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId} was still Received; queued it again for routing")]
    private partial void LogRequeued(string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId} could not be reconciled this time")]
    private partial void LogRetryLater(Exception exception, string referralId);
}
