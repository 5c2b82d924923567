using Azure;
using Azure.Data.Tables;
using Referrals.Core.Referrals;

namespace Referrals.Functions.Storage;

/// <summary>Reads and writes referral partitions: the referral row plus its append-only history rows.</summary>
public static class ReferralTable
{
    public static async Task AddNewAsync(this TableClient table, ReferralEntity referral, StatusChange received, CancellationToken cancellationToken)
    {
        referral.HistoryCount = 1;
        var responses = await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.Add, referral),
                new TableTransactionAction(TableTransactionActionType.Add, HistoryEntity.From(referral.PartitionKey, 1, received)),
            ],
            cancellationToken);

        // The insert's ETag, so the writer can change the row again without reading it back.
        referral.ETag = responses.Value[0].Headers.ETag ?? default;
        if (ReferralIndex.Of(table) is { } index)
        {
            await index.WriteAsync(referral, [received], [], cancellationToken);
        }
    }

    public static async Task<ReferralEntity?> FindReferralAsync(this TableClient table, string referralId, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<ReferralEntity>(referralId, ReferralEntity.RowKeyValue, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public static async Task<IReadOnlyList<StatusChange>> GetHistoryAsync(this TableClient table, string referralId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {referralId} and RowKey ge {HistoryEntity.RowKeyPrefix} and RowKey lt {HistoryEntity.RowKeyPrefix + "~"}");
        var history = new List<StatusChange>();
        await foreach (var row in table.QueryAsync<HistoryEntity>(filter, cancellationToken: cancellationToken))
        {
            history.Add(row.ToStatusChange());
        }

        return history;
    }

    /// <summary>
    /// Writes what <paramref name="referralCase"/> changed in one transaction: the referral row, the history entries it
    /// appended, and <paramref name="alongside"/> (rows of the same partition, upserted), so a row derived from the
    /// referral is never written after an erasure that the ETag would have refused. The ETag makes a concurrent writer
    /// fail with 412 instead of overwriting; the caller's queue retry then re-reads and decides again.
    /// </summary>
    public static Task SaveAsync(this TableClient table, ReferralEntity referral, ReferralCase referralCase, IReadOnlyList<ITableEntity> alongside, CancellationToken cancellationToken) =>
        SaveAsync(table, referral, referralCase, alongside.Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row)), cancellationToken);

    /// <summary>As above, with the other rows' own actions (for example replaces checked against their ETags).</summary>
    public static async Task SaveAsync(this TableClient table, ReferralEntity referral, ReferralCase referralCase, IEnumerable<TableTransactionAction> alongside, CancellationToken cancellationToken)
    {
        if (referralCase.AwaitingReroute)
        {
            // The decline or timeout is recorded by the re-route's history entry: never stored without it.
            throw new InvalidOperationException($"Referral {referralCase.Id} must be routed again before it is saved.");
        }

        referral.Apply(referralCase);
        var writes = alongside.ToList();
        var responses = await table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateReplace, referral, referral.ETag),
                .. referralCase.NewHistory.Select(entry => new TableTransactionAction(TableTransactionActionType.Add, HistoryEntity.From(referral.PartitionKey, entry.Sequence, entry.Change))),
                .. writes,
            ],
            cancellationToken);
        // The new ETag, so the writer can change the row again; without one, the next write fails safe with 412.
        referral.ETag = responses.Value[0].Headers.ETag ?? referral.ETag;
        if (ReferralIndex.Of(table) is { } index)
        {
            // After the transaction: derived data, one merge; the emails completed with this move come along.
            await index.WriteAsync(referral, referralCase.NewHistory.Select(h => h.Change), writes.Select(a => a.Entity).OfType<EmailLedgerEntity>(), cancellationToken);
        }

        referralCase.MarkSaved();
    }

    public static Task SaveAsync(this TableClient table, ReferralEntity referral, ReferralCase referralCase, CancellationToken cancellationToken) =>
        SaveAsync(table, referral, referralCase, Array.Empty<TableTransactionAction>(), cancellationToken);

    /// <summary>The history as operators see it (never the public status resource).</summary>
    public static IEnumerable<object> ForDisplay(this IEnumerable<StatusChange> history) =>
        history.Select(h => new { status = h.Status.ToString(), at = h.At, actor = h.Actor.ToString(), reason = h.Reason });

    public static bool IsConflict(this RequestFailedException exception) => exception.Status is 409 or 412;
}
