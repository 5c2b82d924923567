using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;

namespace Referrals.Functions.Storage;

/// <summary>
/// Picks the queue for a referral's next step. Urgent referrals have queues of their own, each with its own trigger,
/// so they never wait behind a backlog of ordinary work. Everything that queues a referral goes through here.
/// </summary>
public sealed partial class PipelineQueues(
    [FromKeyedServices(StorageNames.IntakeQueue)] QueueClient intake,
    [FromKeyedServices(StorageNames.UrgentIntakeQueue)] QueueClient urgentIntake,
    [FromKeyedServices(StorageNames.NotificationQueue)] QueueClient notifications,
    [FromKeyedServices(StorageNames.UrgentNotificationQueue)] QueueClient urgentNotifications,
    Observability.PipelineMetrics? metrics = null,
    IOptions<EmailOptions>? email = null,
    ILogger<PipelineQueues>? logger = null)
{
    private readonly TimeSpan backstopAfter = (email?.Value ?? new EmailOptions()).BackstopAfter;

    public QueueClient Intake(bool urgent) => urgent ? urgentIntake : intake;

    public QueueClient Notifications(bool urgent) => urgent ? urgentNotifications : notifications;

    /// <summary>Queues the referral for routing.</summary>
    public Task RouteAsync(string referralId, bool urgent, CancellationToken cancellationToken) =>
        Intake(urgent).SendReferralAsync(referralId, cancellationToken);

    /// <summary>Queues the referral's emails (the ledger sends only what is still missing).</summary>
    public Task NotifyAsync(string referralId, bool urgent, CancellationToken cancellationToken) =>
        Notifications(urgent).SendReferralAsync(referralId, cancellationToken);

    /// <summary>
    /// Before a move made outside a queue trigger is saved: a message that becomes visible only after
    /// <see cref="EmailOptions.BackstopAfter"/>, so the move's emails go out even if nothing runs after the save.
    /// A move that is not saved leaves it nothing to send; the ledger sends nothing twice.
    /// </summary>
    public Task NotifyLaterAsync(ReferralEntity referral, CancellationToken cancellationToken) =>
        Notifications(referral.Urgent).SendReferralLaterAsync(referral.PartitionKey, backstopAfter, cancellationToken);

    /// <summary>
    /// After a move whose <see cref="NotifyLaterAsync"/> message is queued and which is now saved: queues its emails at
    /// once. If storage fails here, the held-back message sends them, so the caller goes on (the specialist is thanked,
    /// the offer counted, the audit written) rather than fail an action that is recorded.
    /// </summary>
    public async Task NotifyAfterHeldBackAsync(ReferralEntity referral, CancellationToken cancellationToken)
    {
        try
        {
            await NotifyAsync(referral, cancellationToken);
        }
        catch (Exception e) when (StorageOutage.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            if (logger is not null)
            {
                LogLeftToHeldBack(logger, e, referral.PartitionKey);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: its emails could not be queued after the move; the held-back message sends them")]
    private static partial void LogLeftToHeldBack(ILogger logger, Exception exception, string referralId);

    /// <summary>
    /// Queues the emails for the state <paramref name="referral"/> was just moved to, and counts the move: every
    /// routing and acceptance ends here (a redelivery after a crash between the two steps counts twice).
    /// </summary>
    public async Task NotifyAsync(ReferralEntity referral, CancellationToken cancellationToken)
    {
        await NotifyAsync(referral.PartitionKey, referral.Urgent, cancellationToken);
        switch (referral.CurrentStatus)
        {
            case ReferralStatus.Routed or ReferralStatus.NeedsTriage:
                metrics?.Routed(toSpecialist: referral.CurrentStatus == ReferralStatus.Routed);
                break;
            case ReferralStatus.Accepted:
                metrics?.Accepted();
                break;
        }
    }
}
