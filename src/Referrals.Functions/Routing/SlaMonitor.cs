using Azure;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>
/// Silence is an answer too: no answer within ReminderAfter gets one reminder; still none TimeoutAfterReminder later,
/// the referral is routed again (the silent specialist excluded) and operators are alerted. Urgent referrals run on
/// the much shorter UrgentReminderAfter and UrgentTimeoutAfterReminder.
/// </summary>
public sealed partial class SlaMonitor(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    PipelineQueues queues,
    ReferralRouter router,
    IOptions<RoutingOptions> options,
    TimeProvider clock,
    ILogger<SlaMonitor> logger)
{
    [Function(nameof(SlaMonitor))]
    public async Task Run([TimerTrigger("0 */15 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        await CheckAsync(cancellationToken);

    public async Task<(int Reminded, int Rerouted)> CheckAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var sla = options.Value;
        var (reminderDue, urgentReminderDue) = (now - sla.ReminderAfter, now - sla.UrgentReminderAfter);
        var filter = TableClient.CreateQueryFilter($"RowKey eq {ReferralEntity.RowKeyValue} and (Status eq {nameof(ReferralStatus.Routed)} or Status eq {nameof(ReferralStatus.Notified)}) and (AssignedAt le {reminderDue} or (Urgent eq {true} and AssignedAt le {urgentReminderDue}))");
        var (reminded, rerouted) = (0, 0);
        await foreach (var referral in referrals.QueryAsync<ReferralEntity>(filter, cancellationToken: cancellationToken))
        {
            if (referral.IsErased)
            {
                continue; // a stub erased under the retention policy keeps its status but waits for nobody
            }

            // Each on its own clock (the query finds every referral due on either).
            if (referral.AssignedAt > now - sla.ReminderAfterFor(referral.Urgent))
            {
                continue;
            }

            try
            {
                var referralCase = referral.ToCase();
                if (referral.AssignedAt <= now - sla.TimeoutFor(referral.Urgent))
                {
                    var silent = referral.AssignedSpecialistId;
                    referralCase.TimeOut(referral.Assignment);
                    await queues.NotifyLaterAsync(referral, cancellationToken);
                    await router.RerouteAsync(referral, referralCase, cancellationToken);
                    LogTimedOut(referral.PartitionKey, silent);
                    rerouted++;
                }
                else if (referralCase.Remind(referral.Assignment))
                {
                    await queues.NotifyLaterAsync(referral, cancellationToken);
                    await referrals.SaveAsync(referral, referralCase, cancellationToken);
                    await queues.NotifyAfterHeldBackAsync(referral, cancellationToken);
                    reminded++;
                }
            }
            catch (RequestFailedException e) when (e.IsConflict())
            {
                // The specialist answered while we looked: their answer wins; the next run sees the new state.
            }
        }

        return (reminded, rerouted);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: no answer from specialist {SpecialistId}; routed again")]
    private partial void LogTimedOut(string referralId, string? specialistId);
}
