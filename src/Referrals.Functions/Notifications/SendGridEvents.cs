using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Functions.Storage;
using SendGrid.Helpers.EventWebhook;

namespace Referrals.Functions.Notifications;

/// <summary>
/// SendGrid's Event Webhook. Only signed posts (ECDSA, checked with SendGrid's own RequestValidator against the
/// configured public key) from the last five minutes are read; each event is recorded once (by sg_event_id) on the
/// email it concerns. A visitor address that bounces is marked unreachable for operators.
/// </summary>
public sealed partial class SendGridEvents(
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient unmatched,
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    IOptions<EmailOptions> options,
    Operations.Alerts.OperatorAlerts alerts,
    TimeProvider clock,
    ILogger<SendGridEvents> logger)
{
    public const string SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature";
    public const string TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp";
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);
    private static readonly string[] Recorded = ["processed", "delivered", "deferred", "bounce", "dropped", "blocked"];
    private static readonly string[] Unreachable = ["bounce", "dropped", "blocked"];
    private const int MaxBodyBytes = 1024 * 1024;

    /// <summary>Delivery-event dedupe rows: in the email's referral partition, or in the holding partition when unmatched.</summary>
    public const string EventRowPrefix = EmailLedgerEntity.EventRowPrefix;

    /// <summary>The custom arg that names one attempt to send an email; its events tell an unknown outcome apart.</summary>
    public const string SendIdArg = "send_id";
    public const string UnmatchedEventsPartition = "events-unmatched";

    [Function(nameof(SendGridEvents))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sendgrid/events")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return TypedResults.Problem(title: "Too large.", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        using var reader = new StreamReader(request.Body);
        var payload = await reader.ReadToEndAsync(cancellationToken);
        var signature = request.Headers[SignatureHeader].FirstOrDefault();
        var timestamp = request.Headers[TimestampHeader].FirstOrDefault();
        if (Reject(payload, signature, timestamp) is { } reason)
        {
            LogRejected(reason);
            return TypedResults.Problem(title: "The event post is not signed by SendGrid.", detail: reason, statusCode: StatusCodes.Status401Unauthorized);
        }

        JsonArray events;
        try
        {
            events = JsonNode.Parse(payload) as JsonArray ?? throw new JsonException("not an array");
        }
        catch (JsonException)
        {
            return TypedResults.Problem(title: "The body is not a JSON array of events.", statusCode: StatusCodes.Status400BadRequest);
        }

        var recorded = 0;
        foreach (var item in events.OfType<JsonObject>())
        {
            recorded += await RecordAsync(item, cancellationToken) ? 1 : 0;
        }

        return TypedResults.Ok(new { received = events.Count, recorded });
    }

    private string? Reject(string payload, string? signature, string? timestamp)
    {
        if (string.IsNullOrEmpty(options.Value.EventWebhookPublicKey))
        {
            return "no Email:EventWebhookPublicKey is configured";
        }

        if (string.IsNullOrEmpty(signature) || string.IsNullOrEmpty(timestamp))
        {
            return "unsigned";
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || (clock.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > MaxAge)
        {
            return "stale or malformed timestamp";
        }

        try
        {
            var validator = new RequestValidator();
            var key = validator.ConvertPublicKeyToECDSA(options.Value.EventWebhookPublicKey);
            return validator.VerifySignature(key, payload, signature, timestamp) ? null : "bad signature";
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            return "malformed signature";
        }
    }

    private async Task<bool> RecordAsync(JsonObject item, CancellationToken cancellationToken)
    {
        var eventId = item["sg_event_id"]?.ToString();
        var kind = item["event"]?.ToString();
        if (string.IsNullOrEmpty(eventId) || kind is null || !Recorded.Contains(kind))
        {
            return false;
        }

        // Every send carries the referral, the email and the attempt in custom_args; SendGrid returns them on its events.
        var eventKey = EventRowPrefix + Uri.EscapeDataString(eventId);
        var referralId = item[SendNotifications.ReferralIdArg]?.ToString();
        var ledgerKey = item[SendNotifications.LedgerKeyArg]?.ToString();
        if (referralId is null || !Core.Referrals.ReferralId.IsWellFormed(referralId) || string.IsNullOrEmpty(ledgerKey))
        {
            // Not one of ours: held only to deduplicate, then purged with the email records.
            return await ClaimEventAsync(unmatched, UnmatchedEventsPartition, eventKey, kind, null, null, cancellationToken);
        }

        // The event's row lives with the email it concerns, so erasing a referral finds and deletes it.
        if (!await ClaimEventAsync(referrals, referralId, eventKey, kind, ledgerKey, item[SendIdArg]?.ToString(), cancellationToken))
        {
            return false;
        }

        if (kind != "processed")
        {
            try
            {
                await referrals.UpdateEntityAsync(
                    new TableEntity(referralId, EmailLedgerEntity.RowKeyFor(ledgerKey)) { [nameof(EmailLedgerEntity.LastEvent)] = kind, [nameof(EmailLedgerEntity.LastEventAt)] = clock.GetUtcNow() },
                    ETag.All, TableUpdateMode.Merge, cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // The email's row is gone (erased); the check below takes the event row back too.
            }
        }

        var email = EmailKinds.ForLedgerKey(ledgerKey);
        if (email is not { SentAfterErasure: true } && await referrals.IsErasedAsync(referralId, cancellationToken))
        {
            await referrals.DeleteIfPresentAsync(referralId, eventKey, ETag.All, CancellationToken.None);
            return true;
        }

        if (email is { Recipient: EmailRecipient.Visitor } && Unreachable.Contains(kind))
        {
            await MarkUnreachableAsync(referralId, kind, cancellationToken);
        }

        if (email is { Recipient: EmailRecipient.Specialist } && Unreachable.Contains(kind))
        {
            // Once per email (its ledger key), whichever of bounce, dropped or blocked comes first.
            await alerts.RaiseAsync(new Operations.Alerts.OperatorAlert(AlertCondition.SpecialistBounce, referralId, ledgerKey,
                new Dictionary<string, string> { [AlertWording.Event] = kind, [AlertWording.Email] = email.Kind.ToString() }), cancellationToken);
        }

        if (Unreachable.Contains(kind) && ReferralIndex.Of(referrals) is { } index
            && await referrals.FindReferralAsync(referralId, cancellationToken) is { IsErased: false } bounced)
        {
            // Operators count bounces; the index row is found by the referral's received time (bounces are rare).
            await index.MarkBounceAsync(referralId, bounced.ReceivedAt, ledgerKey, clock.GetUtcNow(), cancellationToken);
        }

        return true;
    }

    /// <summary>SendGrid delivers at least once: the event id is claimed, so a repeat changes nothing.</summary>
    private async Task<bool> ClaimEventAsync(TableClient table, string partitionKey, string eventKey, string kind, string? ledgerKey, string? sendId, CancellationToken cancellationToken)
    {
        try
        {
            await table.AddEntityAsync(new TableEntity(partitionKey, eventKey) { ["Event"] = kind, ["LedgerKey"] = ledgerKey, [SendIdArg] = sendId, ["ReceivedAt"] = clock.GetUtcNow() }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>Only on the referral as read (its ETag), so the flag never lands on a stub erased meanwhile.</summary>
    private async Task MarkUnreachableAsync(string referralId, string kind, CancellationToken cancellationToken)
    {
        var marked = await referrals.ChangeAsync<ReferralEntity, bool>(referralId, ReferralEntity.RowKeyValue, referral =>
        {
            if (referral is not { IsErased: false } || referral.VisitorUnreachable)
            {
                return (null, false);
            }

            referral.VisitorUnreachable = true;
            return (referral, true);
        }, cancellationToken);
        if (marked)
        {
            LogUnreachable(referralId, kind);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SendGrid event post rejected: {Reason}")]
    private partial void LogRejected(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: the visitor's address is unreachable ({Event})")]
    private partial void LogUnreachable(string referralId, string @event);
}
