using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Alerts;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// A message that failed every attempt: it is parked for operators (nothing accepted is lost), its referral is marked
/// Failed with the reason, and operators are alerted once per referral and queue, however many copies arrive.
/// Operators then replay it onto its queue or discard it (ListPoisonMessages, ResolvePoisonMessage).
/// </summary>
public sealed partial class PoisonMessages(
    [FromKeyedServices(StorageNames.PoisonTable)] TableClient parked,
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    OperatorAlerts alerts,
    TimeProvider clock,
    ILogger<PoisonMessages> logger,
    Observability.PipelineMetrics? metrics = null)
{
    [Function("HandleIntakePoison")]
    public Task IntakePoison([QueueTrigger(StorageNames.IntakePoisonQueue, Connection = StorageNames.Connection)] string body, CancellationToken cancellationToken) =>
        ParkAsync(StorageNames.IntakeQueue, body, cancellationToken);

    [Function("HandleNotificationPoison")]
    public Task NotificationPoison([QueueTrigger(StorageNames.NotificationPoisonQueue, Connection = StorageNames.Connection)] string body, CancellationToken cancellationToken) =>
        ParkAsync(StorageNames.NotificationQueue, body, cancellationToken);

    [Function("HandleUrgentIntakePoison")]
    public Task UrgentIntakePoison([QueueTrigger(StorageNames.UrgentIntakePoisonQueue, Connection = StorageNames.Connection)] string body, CancellationToken cancellationToken) =>
        ParkAsync(StorageNames.UrgentIntakeQueue, body, cancellationToken);

    [Function("HandleUrgentNotificationPoison")]
    public Task UrgentNotificationPoison([QueueTrigger(StorageNames.UrgentNotificationPoisonQueue, Connection = StorageNames.Connection)] string body, CancellationToken cancellationToken) =>
        ParkAsync(StorageNames.UrgentNotificationQueue, body, cancellationToken);

    private async Task ParkAsync(string queue, string body, CancellationToken cancellationToken)
    {
        var referralId = ReferralIdOf(body);
        var now = clock.GetUtcNow();
        var referral = referralId is null ? null : await referrals.FindReferralAsync(referralId, cancellationToken);
        if (referral is { IsErased: true })
        {
            // Nothing is left to do for an erased referral, and a parked row would name it again.
            LogDroppedErased(StorageNames.WithoutUrgency(queue), referralId);
            return;
        }

        var row = new TableEntity(queue, $"{now:yyyyMMddHHmmssfff}-{Guid.NewGuid():N}") { ["Body"] = body, ["ReferralId"] = referralId, ["ParkedAt"] = now };
        await parked.AddEntityAsync(row, cancellationToken);
        LogParked(StorageNames.WithoutUrgency(queue), referralId);
        if (referral is null)
        {
            return;
        }

        if (await referrals.IsErasedAsync(referral.PartitionKey, cancellationToken))
        {
            // Erased while we parked it: take the row back (see ErasureChecks).
            await parked.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, ETag.All, CancellationToken.None);
            return;
        }

        if (referral.CurrentStatus is not (ReferralStatus.Failed or ReferralStatus.Withdrawn or ReferralStatus.Duplicate))
        {
            var failed = referral.ToCase();
            failed.Fail(now, StorageNames.WithoutUrgency(queue));
            await referrals.SaveAsync(referral, failed, cancellationToken);
            metrics?.Failed();
        }

        await AlertOnceAsync(referral.PartitionKey, queue, cancellationToken);
    }

    /// <summary>
    /// Once per referral and queue, however many copies arrive. The alert is recorded before it is sent, so when it
    /// cannot go out now (SendGrid down, the rate gate closed) the digest timer sends it later instead of dropping it.
    /// </summary>
    private Task AlertOnceAsync(string referralId, string queue, CancellationToken cancellationToken)
    {
        var named = StorageNames.WithoutUrgency(queue);
        return alerts.RaiseAsync(new OperatorAlert(AlertCondition.Poison, referralId, named, new Dictionary<string, string> { [AlertWording.Queue] = named }), cancellationToken);
    }

    private static string? ReferralIdOf(string body)
    {
        try
        {
            return JsonSerializer.Deserialize<ReferralMessage>(body, JsonSerializerOptions.Web)?.ReferralId is { } id && ReferralId.IsWellFormed(id) ? id : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Poison message from {Queue} parked (referral {ReferralId})")]
    private partial void LogParked(string queue, string? referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poison message from {Queue} dropped: referral {ReferralId} is erased")]
    private partial void LogDroppedErased(string queue, string? referralId);

}
