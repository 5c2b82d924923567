using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Core.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>Matches a received referral to a specialist, or sends it to triage, then queues its notifications.</summary>
public sealed partial class RouteReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.NotificationQueue)] QueueClient notificationQueue,
    SpecialistDirectory directory,
    TimeProvider clock,
    ILogger<RouteReferral> logger)
{
    [Function(nameof(RouteReferral))]
    public async Task Run(
        [QueueTrigger(StorageNames.IntakeQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken)
    {
        var referral = await referrals.FindReferralAsync(message.ReferralId, cancellationToken)
            ?? throw new InvalidOperationException($"Referral {message.ReferralId} does not exist.");

        if (referral.CurrentStatus == ReferralStatus.Received)
        {
            var decision = Router.Route(referral.ToReferral(), await directory.LoadAsync(cancellationToken));
            var change = decision.NeedsTriage
                ? new StatusChange(ReferralStatus.NeedsTriage, clock.GetUtcNow(), Actor.System, "No specialist matched; sent to the triage coordinator.")
                : new StatusChange(ReferralStatus.Routed, clock.GetUtcNow(), Actor.System, $"Routed to specialist {decision.Specialist!.Id}.");
            await referrals.TransitionAsync(referral, change, r =>
            {
                r.AssignedSpecialistId = decision.Specialist?.Id;
                r.RoutingExplanation = decision.Explanation;
            }, cancellationToken);
            LogRouted(referral.PartitionKey, referral.Status, decision.Specialist?.Id);
        }

        // Also on redelivery after a crash between the transition and this send: notifications are idempotent.
        if (referral.CurrentStatus is ReferralStatus.Routed or ReferralStatus.NeedsTriage)
        {
            await notificationQueue.SendReferralAsync(message.ReferralId, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} is {Status} (specialist {SpecialistId})")]
    private partial void LogRouted(string referralId, string status, string? specialistId);
}
