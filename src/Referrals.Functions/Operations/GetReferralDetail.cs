using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: one referral as a whole, from one read of its partition: the submission (personal fields only on
/// request, with a reason, and that view is audited), its history, every routing decision, every email with its
/// delivery events, the operator actions on it, and all of these merged into one timeline, oldest first. An erased
/// referral shows its stub.
/// </summary>
public sealed partial class GetReferralDetail(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    OperatorAudit audit,
    OperatorIdentity identity,
    IOptions<RoutingOptions> routing,
    TimeProvider clock,
    ILogger<GetReferralDetail> logger)
{
    public const string ViewPersonalAction = "view-personal";

    [Function(nameof(GetReferralDetail))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/referrals/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (!ReferralId.IsWellFormed(id))
        {
            return Problems.NotFound("No referral has this reference.");
        }

        var personal = string.Equals(request.Query["personal"].FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
        var reason = OperatorRequest.HeaderReason(request);
        if (personal && reason is null)
        {
            return OperatorRequest.HeaderReasonRequired();
        }

        var rows = new List<TableEntity>();
        await foreach (var row in referrals.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id}"), cancellationToken: cancellationToken))
        {
            rows.Add(row);
        }

        if (rows.FirstOrDefault(r => r.RowKey == ReferralEntity.RowKeyValue)?.As<ReferralEntity>() is not { } referral)
        {
            return Problems.NotFound("No referral has this reference.");
        }

        var audited = rows.Where(r => r.RowKey.StartsWith(OperatorAudit.RowPrefix, StringComparison.Ordinal)).Select(OperatorAudit.Read).ToList();
        if (personal)
        {
            // Recorded before anything personal leaves: a view that could not be audited is not shown.
            var entry = new AuditEntry(clock.GetUtcNow(), identity.KeyName(request), ViewPersonalAction, id, AuditReasons.Scrub(reason!, referral), referral.IsErased ? "erased" : null);
            await referrals.AddEntityAsync(OperatorAudit.ReferralRow(entry), cancellationToken);
            await audit.RecordAsync(entry, cancellationToken);
            audited.Add(entry);
            LogPersonalViewed(id, entry.KeyName);
        }

        return TypedResults.Ok(Detail(referral, rows, audited, personal));
    }

    private object Detail(ReferralEntity referral, List<TableEntity> rows, List<AuditEntry> audited, bool personal)
    {
        var history = rows.Where(r => r.RowKey.StartsWith(HistoryEntity.RowKeyPrefix, StringComparison.Ordinal))
            .Select(r => r.As<HistoryEntity>())
            .OrderBy(h => h.RowKey, StringComparer.Ordinal)
            .Select(h => new { at = h.At, status = h.Status, actor = h.Actor, reason = h.Reason })
            .ToList();
        var decisions = rows.Where(r => r.RowKey.StartsWith(ReferralRouter.DecisionRowPrefix, StringComparison.Ordinal))
            .Select(r => new
            {
                at = r.GetDateTimeOffset("At") ?? r.Timestamp,
                assignment = int.TryParse(r.RowKey.AsSpan(ReferralRouter.DecisionRowPrefix.Length), out var n) ? n : 0,
                specialistId = r.GetString("ChosenSpecialistId"),
                explanation = r.GetString("Explanation"),
            })
            .OrderBy(d => d.assignment)
            .ToList();
        var events = rows.Where(r => r.RowKey.StartsWith(EmailLedgerEntity.EventRowPrefix, StringComparison.Ordinal))
            .Select(r => (LedgerKey: r.GetString("LedgerKey") ?? "", Event: r.GetString("Event") ?? "", At: r.GetDateTimeOffset("ReceivedAt") ?? r.Timestamp))
            .OrderBy(e => e.At)
            .ToList();
        var emails = rows.Where(r => r.RowKey.StartsWith(EmailLedgerEntity.RowKeyPrefix, StringComparison.Ordinal))
            .Select(r => r.As<EmailLedgerEntity>())
            .Select(e => new
            {
                ledgerKey = e.LedgerKey,
                kind = EmailKinds.ForLedgerKey(e.LedgerKey)?.Kind.ToString() ?? e.LedgerKey,
                resend = EmailResend.Parse(e.LedgerKey)?.Number,
                state = e.State,
                claimedAt = e.ClaimedAt,
                sentAt = e.SentAt,
                lastEvent = e.LastEvent,
                events = events.Where(x => x.LedgerKey == e.LedgerKey).Select(x => new { @event = x.Event, at = x.At }).ToList(),
            })
            .OrderBy(e => e.sentAt ?? e.claimedAt)
            .ToList();
        audited = [.. audited.OrderBy(a => a.At)];

        var timeline = history.Select(h => Moment(h.at, "status", $"{h.status} ({h.actor}){(h.reason.Length > 0 ? ": " + h.reason : "")}"))
            .Concat(decisions.Select(d => Moment(d.at, "routing", $"Assignment {d.assignment}: {d.explanation}")))
            .Concat(emails.Select(e => Moment(e.sentAt ?? e.claimedAt, "email", $"{e.kind}{(e.resend is { } r ? $" (resend {r})" : "")}: {e.state}")))
            .Concat(events.Select(e => Moment(e.At, "event", $"{EmailKinds.ForLedgerKey(e.LedgerKey)?.Kind.ToString() ?? e.LedgerKey}: {e.Event}")))
            .Concat(audited.Select(a => Moment(a.At, "audit", $"{a.Action} by {a.KeyName}: {a.Reason}")))
            .Select((m, order) => (m, order))
            .OrderBy(x => x.m.At)
            .ThenBy(x => x.order) // same instant: status before the decision, email before its event
            .Select(x => x.m)
            .ToList();

        var erased = referral.IsErased;
        return new
        {
            id = referral.PartitionKey,
            status = referral.Status,
            receivedAt = referral.ReceivedAt,
            urgent = referral.Urgent,
            treatment = NullIfEmpty(referral.Treatment),
            topic = referral.Topic,
            sourcePost = referral.SourcePost,
            specialistId = referral.AssignedSpecialistId,
            assignment = referral.Assignment,
            pastSla = PastSla(referral),
            erased,
            erasedAt = referral.ErasedAt,
            duplicateOf = referral.DuplicateOf,
            visitorUnreachable = referral.VisitorUnreachable,
            personal = personal && !erased
                ? new
                {
                    name = referral.Name,
                    email = referral.Email,
                    phone = referral.Phone,
                    state = referral.State,
                    insurance = referral.Insurance,
                    message = referral.Message,
                    contactMethod = referral.ContactMethod,
                    language = referral.Language,
                }
                : null,
            timeline,
            history,
            routing = decisions,
            emails = emails.Select(e => new { e.ledgerKey, e.kind, e.state, e.sentAt, e.lastEvent, e.events }),
            audit = audited.Select(a => new { at = a.At, keyName = a.KeyName, action = a.Action, reason = a.Reason, detail = a.Detail }),
        };
    }

    /// <summary>An open offer whose "respond by" (the reminder time the specialist's email names) has passed.</summary>
    private bool PastSla(ReferralEntity referral) =>
        referral.CurrentStatus is ReferralStatus.Routed or ReferralStatus.Notified
        && referral.AssignedAt is { } assignedAt
        && clock.GetUtcNow() > assignedAt + routing.Value.ReminderAfterFor(referral.Urgent);

    private static TimelineItem Moment(DateTimeOffset? at, string kind, string summary) => new(at, kind, summary);

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private sealed record TimelineItem(
        [property: System.Text.Json.Serialization.JsonPropertyName("at")] DateTimeOffset? At,
        [property: System.Text.Json.Serialization.JsonPropertyName("kind")] string Kind,
        [property: System.Text.Json.Serialization.JsonPropertyName("summary")] string Summary);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId}: personal details viewed by key {KeyName}")]
    private partial void LogPersonalViewed(string referralId, string keyName);
}
