using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Core.Routing;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Privacy;

/// <summary>
/// Erases a referral in one request: its row becomes an anonymous stub (reference, status, dates), history keeps
/// status, time and actor without the reasons, routing decisions go, and every derived row in the other tables
/// (email ledger, message index, delivery events, intake guards, parked messages) is deleted.
/// Ordering: the stub is written first (ETag-guarded, with the audit row), so every writer that checks
/// <see cref="ErasureChecks"/> after its own write sees it; the derived rows are deleted after. Everything here is
/// idempotent: a second run, or two at once, end in the same stub.
/// </summary>
public sealed partial class ReferralErasure(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.NotificationQueue)] QueueClient notificationQueue,
    DerivedRowsSweep sweep,
    SpecialistDirectory directory,
    TimeProvider clock,
    ILogger<ReferralErasure> logger)
{
    public const string AuditRowPrefix = "audit-";
    public const string WithdrawnReason = "Withdrawn; personal details erased.";
    public const string RetentionReason = "Personal details erased after the retention period.";
    public const string DuplicateReason = "Personal details erased with the referral this one repeated.";
    private static readonly string[] OwnReasons = [WithdrawnReason, RetentionReason, DuplicateReason];
    private const int MaxTransaction = 100;
    private const int MaxAttempts = 10;

    private sealed record Request(bool Withdraw, Actor Actor, string Action, string AuditReason, string HistoryReason, string? KeyName = null);

    /// <summary>Withdraws the referral and erases it. False when no referral has this id.</summary>
    /// <param name="reason">Kept in the audit row (with any of the referral's own values blanked), never in the history.</param>
    public Task<bool> EraseAsync(string referralId, Actor actor, string reason, CancellationToken cancellationToken) =>
        EraseAsync(referralId, actor, reason, null, cancellationToken);

    /// <summary>As above, by an operator whose key <paramref name="keyName"/> names (see <see cref="OperatorIdentity"/>): the audit row says which.</summary>
    public Task<bool> EraseAsync(string referralId, Actor actor, string reason, string? keyName, CancellationToken cancellationToken) =>
        RunAsync(referralId, new Request(true, actor, "erase", reason, WithdrawnReason, keyName), cancellationToken);

    /// <summary>Erases the personal details and keeps the status, so counts by status stay right. False when no referral has this id.</summary>
    public Task<bool> EraseForRetentionAsync(string referralId, CancellationToken cancellationToken) =>
        RunAsync(referralId, new Request(false, Actor.System, "retention-erase", "The retention period for personal details passed.", RetentionReason), cancellationToken);

    private async Task<bool> RunAsync(string referralId, Request request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var referral = await referrals.FindReferralAsync(referralId, cancellationToken);
            if (referral is null)
            {
                return false;
            }

            var rows = await PartitionRowsAsync(referralId, cancellationToken);
            var now = clock.GetUtcNow();
            var guardKeys = referral.GuardKeys;
            var (actions, withdrawnFrom) = Plan(referral, rows, request, guardKeys, now);
            try
            {
                // An erased stub with nothing left to change in its partition is not written again: only the
                // sweep runs, so erasures racing each other do not keep invalidating each other's ETags.
                if (referral.ErasedAt is null || actions.Count > 1)
                {
                    await referrals.SubmitTransactionAsync(actions.Take(MaxTransaction), cancellationToken);
                }
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412 && attempt < MaxAttempts)
            {
                // Something changed the partition since we read it (a transition, a second eraser): read it again.
                continue;
            }

            foreach (var action in actions.Skip(MaxTransaction))
            {
                await ApplyAloneAsync(action, cancellationToken);
            }

            // The operators' index holds the treatment: blanked on every run, so a pending erasure finishes it too.
            await (ReferralIndex.Of(referrals)?.BlankAsync(referralId, referral.ReceivedAt, ((TableEntity)actions[0].Entity).GetString(nameof(ReferralEntity.Status)), cancellationToken) ?? Task.CompletedTask);

            if (withdrawnFrom is { } specialistId)
            {
                // Queued before the sweep, so a crash in the sweep cannot lose it; it carries ids only.
                await notificationQueue.SendWithdrawalNoticeAsync(referralId, specialistId, cancellationToken);
                if (ReleasesCapacity(referral))
                {
                    await directory.ReleaseOfferAsync(specialistId, cancellationToken);
                }
            }

            await sweep.DeleteAsync(referralId, guardKeys, cancellationToken);
            if (request.Withdraw)
            {
                // Retention reaches duplicates on their own schedule; a withdrawal must not wait for it.
                await EraseDuplicatesAsync(referralId, request, cancellationToken);
            }

            await FinishAsync(referralId, cancellationToken);
            LogErased(referralId, request.Action, request.Actor);
            return true;
        }
    }

    private (List<TableTransactionAction> Actions, string? WithdrawnFrom) Plan(ReferralEntity referral, List<TableEntity> rows, Request request, string? guardKeys, DateTimeOffset now)
    {
        var current = referral.CurrentStatus;
        var firstErasure = referral.ErasedAt is null;
        var erased = referral.ToCase();
        if (request.Withdraw)
        {
            erased.Withdraw(now, request.Actor, request.HistoryReason);
        }
        else
        {
            erased.Erase(now, request.Actor, request.HistoryReason);
        }

        // Not the row mapped from the case: the stub keeps only the reference, status, dates and history count.
        var stub = new TableEntity(referral.PartitionKey, ReferralEntity.RowKeyValue)
        {
            [nameof(ReferralEntity.Status)] = erased.Status.ToString(),
            [nameof(ReferralEntity.ReceivedAt)] = erased.ReceivedAt,
            [nameof(ReferralEntity.ErasedAt)] = erased.ErasedAt,
            [nameof(ReferralEntity.SweepPending)] = true,
            [nameof(ReferralEntity.HistoryCount)] = erased.HistoryCount,
        };
        if (guardKeys is not null)
        {
            // Kept on the stub only until the guard rows are deleted, so an interrupted erasure can finish them.
            stub[nameof(ReferralEntity.GuardKeys)] = guardKeys;
        }

        var actions = new List<TableTransactionAction> { new(TableTransactionActionType.UpdateReplace, stub, referral.ETag) };
        actions.AddRange(erased.NewHistory.Select(entry =>
            new TableTransactionAction(TableTransactionActionType.Add, HistoryEntity.From(referral.PartitionKey, entry.Sequence, entry.Change))));
        if (firstErasure || request.Actor == Actor.Operator)
        {
            actions.Add(new(TableTransactionActionType.Add, AuditRow(referral, request, now)));
        }

        foreach (var row in rows.Where(r => r.RowKey != ReferralEntity.RowKeyValue && !r.RowKey.StartsWith(AuditRowPrefix, StringComparison.Ordinal) && !IsWithdrawalNotice(r)))
        {
            if (!row.RowKey.StartsWith(HistoryEntity.RowKeyPrefix, StringComparison.Ordinal))
            {
                // Routing decisions (their exclusion rules give away state and treatment) and anything else unknown.
                actions.Add(new(TableTransactionActionType.Delete, row, row.ETag));
            }
            else if (row.GetString(nameof(HistoryEntity.Reason)) is { Length: > 0 } text && !OwnReasons.Contains(text))
            {
                // Reasons name specialists and decline reasons; status, time and actor stay.
                var stripped = new TableEntity(row.PartitionKey, row.RowKey)
                {
                    [nameof(HistoryEntity.Status)] = row.GetString(nameof(HistoryEntity.Status)),
                    [nameof(HistoryEntity.At)] = row.GetDateTimeOffset(nameof(HistoryEntity.At)),
                    [nameof(HistoryEntity.Actor)] = row.GetString(nameof(HistoryEntity.Actor)),
                    [nameof(HistoryEntity.Reason)] = "",
                };
                actions.Add(new(TableTransactionActionType.UpdateReplace, stripped, row.ETag));
            }
        }

        var withdrawnFrom = request.Withdraw && erased.Status != current && HeldBySpecialist(referral) ? referral.AssignedSpecialistId : null;
        return (actions, withdrawnFrom);
    }

    /// <summary>
    /// The withdrawal notice's ledger row and its delivery events stay: the notice is sent after the erasure, names
    /// nobody, and its row keeps it to one.
    /// </summary>
    private static bool IsWithdrawalNotice(TableEntity row) =>
        row.RowKey == EmailLedgerEntity.RowKeyFor(nameof(Core.Email.EmailKind.SpecialistWithdrawn))
        || (row.RowKey.StartsWith(EmailLedgerEntity.EventRowPrefix, StringComparison.Ordinal) && row.GetString("LedgerKey") == nameof(Core.Email.EmailKind.SpecialistWithdrawn));

    /// <summary>Routed, Notified or Accepted (or one of those before a failure): a specialist has been told about it.</summary>
    private static bool HeldBySpecialist(ReferralEntity referral) =>
        referral.AssignedSpecialistId is not null && EffectiveStatus(referral) is ReferralStatus.Routed or ReferralStatus.Notified or ReferralStatus.Accepted;

    /// <summary>As WithdrawReferral always did: an open offer gives its unit of capacity back; an accepted one keeps it.</summary>
    private static bool ReleasesCapacity(ReferralEntity referral) => EffectiveStatus(referral) is ReferralStatus.Routed or ReferralStatus.Notified;

    private static ReferralStatus EffectiveStatus(ReferralEntity referral) =>
        referral.CurrentStatus == ReferralStatus.Failed
            ? Enum.TryParse<ReferralStatus>(referral.StatusBeforeFailure, out var before) ? before : ReferralStatus.Received
            : referral.CurrentStatus;

    /// <summary>
    /// The audit row survives erasure: time, action, actor, the operator's key name when an operator erased it, and
    /// the reason with the referral's own values blanked out. It is the operator audit's row (<see cref="OperatorAudit"/>),
    /// so the referral's timeline and the audit API read it like any other.
    /// </summary>
    private static TableEntity AuditRow(ReferralEntity referral, Request request, DateTimeOffset at)
    {
        var actor = request.Actor.ToString().ToLowerInvariant();
        var row = OperatorAudit.ReferralRow(new AuditEntry(at, request.KeyName ?? actor, request.Action, referral.PartitionKey, AuditReasons.Scrub(request.AuditReason, referral)));
        row["Actor"] = actor;
        if (request.KeyName is null)
        {
            row.Remove(nameof(AuditEntry.KeyName)); // not an operator's key: the actor says who
        }

        return row;
    }

    private async Task<List<TableEntity>> PartitionRowsAsync(string referralId, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in referrals.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {referralId}"), cancellationToken: cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Past the first transaction's 100 rows (a very long history): one by one, ignoring what another eraser did first.</summary>
    private async Task ApplyAloneAsync(TableTransactionAction action, CancellationToken cancellationToken)
    {
        try
        {
            if (action.ActionType == TableTransactionActionType.Delete)
            {
                await referrals.DeleteIfPresentAsync(action.Entity.PartitionKey, action.Entity.RowKey, ETag.All, cancellationToken);
            }
            else
            {
                await referrals.UpsertEntityAsync((TableEntity)action.Entity, TableUpdateMode.Replace, cancellationToken);
            }
        }
        catch (RequestFailedException e) when (e.Status is 404 or 409)
        {
        }
    }

    /// <summary>A duplicate submission's stub (DuplicateOf) came from the same person: it is erased with the referral.</summary>
    private async Task EraseDuplicatesAsync(string referralId, Request request, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"RowKey eq {ReferralEntity.RowKeyValue} and DuplicateOf eq {referralId}");
        await foreach (var duplicate in referrals.QueryAsync<TableEntity>(filter, select: [nameof(ITableEntity.PartitionKey)], cancellationToken: cancellationToken))
        {
            await RunAsync(duplicate.PartitionKey, request with { Withdraw = false, Action = request.Action + "-duplicate", HistoryReason = DuplicateReason }, cancellationToken);
        }
    }

    /// <summary>Every derived row is gone: the stub drops the guard keys and the pending mark.</summary>
    private Task FinishAsync(string referralId, CancellationToken cancellationToken) =>
        referrals.ChangeAsync<TableEntity, bool>(referralId, ReferralEntity.RowKeyValue, stub =>
        {
            if (stub is null || !(stub.ContainsKey(nameof(ReferralEntity.GuardKeys)) || stub.ContainsKey(nameof(ReferralEntity.SweepPending))))
            {
                return (null, false);
            }

            stub.Remove(nameof(ReferralEntity.GuardKeys));
            stub.Remove(nameof(ReferralEntity.SweepPending));
            return (stub, true);
        }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} erased ({Action} by {Actor})")]
    private partial void LogErased(string referralId, string action, Actor actor);
}
