using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: replay a parked message onto its queue (restoring its referral's status) or discard it, with a
/// reason; audited. A replay that moves the referral commits its audit row with the move; otherwise the row is added to
/// the referral's partition on its own, so its timeline shows it either way.
/// </summary>
public sealed partial class ResolvePoisonMessage(
    [FromKeyedServices(StorageNames.PoisonTable)] TableClient parked,
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    QueueServiceClient queues,
    OperatorAudit audit,
    OperatorIdentity identity,
    TimeProvider clock,
    ILogger<ResolvePoisonMessage> logger)
{
    public const string Replay = "replay";
    public const string Discard = "discard";

    [Function(nameof(ResolvePoisonMessage))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ops/poison/{queue}/{id}/{action}")] HttpRequest request,
        string queue,
        string id,
        string action,
        CancellationToken cancellationToken)
    {
        if (action is not (Replay or Discard))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "The action is replay or discard.");
        }

        if (OperatorRequest.Reason(await OperatorRequest.BodyAsync(request, cancellationToken)) is not { } reason)
        {
            return OperatorRequest.ReasonRequired();
        }

        var row = StorageNames.Queues.Contains(queue) ? await parked.GetEntityIfExistsAsync<TableEntity>(queue, id, cancellationToken: cancellationToken) : default;
        if (row is not { HasValue: true })
        {
            return Problems.NotFound("No parked message has this queue and id.");
        }

        var referralId = row.Value!.GetString("ReferralId");
        var referral = referralId is null ? null : await referrals.FindReferralAsync(referralId, cancellationToken);
        var live = referral is { IsErased: false } ? referral : null;
        var keyName = identity.KeyName(request);
        var now = clock.GetUtcNow();
        // The queue without its urgent mark: the audit outlives the referral's own urgent flag.
        var entry = new AuditEntry(now, keyName, $"poison-{action}", referralId, live is null ? reason : AuditReasons.Scrub(reason, live),
            $"queue={StorageNames.WithoutUrgency(queue)}; message={id}");
        if (action == Replay && live is { CurrentStatus: ReferralStatus.Failed })
        {
            var replayed = live.ToCase();
            replayed.Replay(now, StorageNames.WithoutUrgency(queue));
            await referrals.SaveAsync(live, replayed, [OperatorAudit.ReferralRow(entry)], cancellationToken);
        }
        else if (live is not null)
        {
            await referrals.AddEntityAsync(OperatorAudit.ReferralRow(entry), cancellationToken);
        }

        if (action == Replay)
        {
            await queues.GetQueueClient(queue).SendMessageAsync(row.Value.GetString("Body"), cancellationToken);
        }

        await parked.DeleteEntityAsync(queue, id, row.Value.ETag, cancellationToken);
        await audit.RecordAsync(entry, cancellationToken);
        LogResolved(StorageNames.WithoutUrgency(queue), id, action, keyName);
        return TypedResults.Ok(new { queue, id, action, referralId });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Parked message {Queue}/{Id}: {Action} by an operator (key {KeyName})")]
    private partial void LogResolved(string queue, string id, string action, string keyName);
}
