using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Functions.Intake;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Privacy;

/// <summary>
/// Removes what has outlived its retention period. Every step is idempotent and safe beside another instance doing
/// the same: deletes tolerate rows already gone and skip rows changed since they were read (ETags), erasure is
/// ETag-guarded, and click summaries are added before raw rows go.
/// </summary>
public sealed partial class RetentionPurge(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    [FromKeyedServices(StorageNames.IntakeGuardsTable)] TableClient guards,
    [FromKeyedServices(StorageNames.PoisonTable)] TableClient parked,
    [FromKeyedServices(StorageNames.OperatorAuditTable)] TableClient audit,
    ReferralErasure erasure,
    ClickRollup clicks,
    IOptions<RetentionOptions> retention,
    IOptions<IntakeOptions> intake,
    TimeProvider clock,
    ILogger<RetentionPurge> logger)
{
    public sealed record Result(int ReferralsErased, int GuardRows, int EmailRows, int ParkedRows, int ClickSummaries, int ClickRows, int AuditRows = 0);

    public async Task<Result> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var periods = retention.Value;
        var rolled = await clicks.RollUpAsync(now - periods.LinkClicks, cancellationToken);
        var result = new Result(
            await EraseReferralsAsync(now - periods.PersonalData, cancellationToken),
            await PurgeGuardsAsync(now, cancellationToken),
            await PurgeEmailRecordsAsync(now - periods.EmailRecords, cancellationToken),
            await PurgeParkedAsync(now - periods.PoisonMessages, cancellationToken),
            rolled.Summaries,
            rolled.RawRowsDeleted,
            await PurgeAuditAsync(now - periods.Audit, cancellationToken));
        LogPurged(result.ReferralsErased, result.GuardRows, result.EmailRows, result.ParkedRows, result.ClickSummaries, result.ClickRows, result.AuditRows);
        return result;
    }

    /// <summary>
    /// Personal fields go PersonalData after the last activity (the last status change); the stub keeps its status.
    /// Erasures left unfinished, and referrals withdrawn before erasure existed, are finished whatever their age.
    /// </summary>
    private async Task<int> EraseReferralsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var erased = 0;
        var filter = TableClient.CreateQueryFilter($"RowKey eq {ReferralEntity.RowKeyValue}");
        string[] columns = [nameof(ITableEntity.PartitionKey), nameof(ReferralEntity.Status), nameof(ReferralEntity.ReceivedAt), nameof(ReferralEntity.ErasedAt), nameof(ReferralEntity.SweepPending)];
        await foreach (var referral in referrals.QueryAsync<ReferralEntity>(filter, select: columns, cancellationToken: cancellationToken))
        {
            var due = referral.SweepPending
                || (referral.ErasedAt is null && (referral.IsErased || (referral.ReceivedAt < cutoff && await LastActivityAsync(referral, cancellationToken) < cutoff)));
            if (due && await erasure.EraseForRetentionAsync(referral.PartitionKey, cancellationToken))
            {
                erased++;
            }
        }

        return erased;
    }

    private async Task<DateTimeOffset> LastActivityAsync(ReferralEntity referral, CancellationToken cancellationToken)
    {
        var last = referral.ReceivedAt;
        foreach (var change in await referrals.GetHistoryAsync(referral.PartitionKey, cancellationToken))
        {
            last = change.At > last ? change.At : last;
        }

        return last;
    }

    /// <summary>Guard rows go once their own window has passed: rate-limit hours, daily counters, claims after the dedupe window.</summary>
    private async Task<int> PurgeGuardsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deleted = 0;
        await foreach (var row in guards.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
        {
            if (GuardExpiry(row) <= now && await guards.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken))
            {
                deleted++;
            }
        }

        return deleted;
    }

    private DateTimeOffset? GuardExpiry(TableEntity row)
    {
        static DateTimeOffset? Parse(string text, string format) =>
            DateTimeOffset.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

        if (row.PartitionKey.StartsWith("spam-", StringComparison.Ordinal))
        {
            // Spam counts per reason and day name nobody: operator statistics, kept as long as click statistics.
            return Parse(row.RowKey, "yyyyMMdd")?.AddDays(1) + retention.Value.LinkClicks;
        }

        return Parse(row.RowKey, "yyyyMMddHH")?.AddHours(1)
            ?? Parse(row.RowKey, "yyyyMMdd")?.AddDays(1)
            ?? row.GetDateTimeOffset("ClaimedAt") + intake.Value.DedupeWindow;
    }

    /// <summary>
    /// Delivery-event rows go after EmailRecords. An email's own ledger row is what keeps it from being sent twice, so
    /// while its referral lives only its SendGrid ids and delivery events are stripped; the row itself goes with the
    /// referral's erasure. Emails and their events live in the referral's partition; operator alerts and unmatched
    /// events in the EmailLedger table.
    /// </summary>
    private async Task<int> PurgeEmailRecordsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var purged = 0;
        var inPartitions = TableClient.CreateQueryFilter($"((RowKey ge {EmailLedgerEntity.RowKeyPrefix} and RowKey lt {"email."}) or (RowKey ge {EmailLedgerEntity.EventRowPrefix} and RowKey lt {"event."})) and Timestamp lt {cutoff}");
        await foreach (var row in referrals.QueryAsync<TableEntity>(inPartitions, cancellationToken: cancellationToken))
        {
            purged += row.RowKey.StartsWith(EmailLedgerEntity.EventRowPrefix, StringComparison.Ordinal)
                ? await referrals.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken) ? 1 : 0
                : row.GetString(nameof(EmailLedgerEntity.State)) is EmailLedgerEntity.Sent or EmailLedgerEntity.Suppressed
                    && await StripDeliveryDetailsAsync(referrals, row, cancellationToken) ? 1 : 0;
        }

        var erasedPartitions = new Dictionary<string, bool>(StringComparer.Ordinal);
        await foreach (var row in ledger.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
        {
            // Unmatched event partitions, and operator alerts about a referral's parked messages.
            var isEvent = row.RowKey.StartsWith(EmailLedgerEntity.EventRowPrefix, StringComparison.Ordinal) || !ReferralId.IsWellFormed(row.PartitionKey);
            var at = row.GetDateTimeOffset("At") ?? row.GetDateTimeOffset("ReceivedAt") ?? row.GetDateTimeOffset(nameof(EmailLedgerEntity.SentAt))
                ?? row.GetDateTimeOffset(nameof(EmailLedgerEntity.ClaimedAt)) ?? row.Timestamp;
            if (at >= cutoff)
            {
                continue;
            }

            if (!isEvent)
            {
                if (!erasedPartitions.TryGetValue(row.PartitionKey, out var erased))
                {
                    erasedPartitions[row.PartitionKey] = erased = await referrals.IsErasedAsync(row.PartitionKey, cancellationToken);
                }

                if (!erased)
                {
                    continue;
                }
            }

            purged += await ledger.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken) ? 1 : 0;
        }

        return purged;
    }

    private static async Task<bool> StripDeliveryDetailsAsync(TableClient table, TableEntity row, CancellationToken cancellationToken)
    {
        string[] details = [nameof(EmailLedgerEntity.ProviderMessageId), nameof(EmailLedgerEntity.SendId), nameof(EmailLedgerEntity.LastEvent), nameof(EmailLedgerEntity.LastEventAt)];
        if (!details.Any(row.ContainsKey))
        {
            return false;
        }

        foreach (var detail in details)
        {
            row.Remove(detail);
        }

        try
        {
            await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false; // changed or gone since we read it: the next run looks again
        }
    }

    private async Task<int> PurgeParkedAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var deleted = 0;
        await foreach (var row in parked.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"ParkedAt lt {cutoff}"), cancellationToken: cancellationToken))
        {
            deleted += await parked.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken) ? 1 : 0;
        }

        return deleted;
    }

    /// <summary>
    /// Audit entries older than Retention:Audit: whole days of the OperatorAudit log (its partitions are days, so
    /// the query reads only the expired ones), and the same entries kept in referrals' partitions.
    /// </summary>
    private async Task<int> PurgeAuditAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var deleted = 0;
        // A day goes once all of it is older than the cutoff: the cutoff's own day stays until the next run.
        var byDay = TableClient.CreateQueryFilter($"PartitionKey lt {OperatorAudit.DayKey(cutoff)}");
        await foreach (var row in audit.QueryAsync<TableEntity>(byDay, select: [nameof(ITableEntity.PartitionKey), nameof(ITableEntity.RowKey)], cancellationToken: cancellationToken))
        {
            deleted += await audit.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken) ? 1 : 0;
        }

        var inPartitions = TableClient.CreateQueryFilter($"RowKey ge {OperatorAudit.RowPrefix} and RowKey lt {"audit."} and At lt {cutoff}");
        await foreach (var row in referrals.QueryAsync<TableEntity>(inPartitions, select: [nameof(ITableEntity.PartitionKey), nameof(ITableEntity.RowKey)], cancellationToken: cancellationToken))
        {
            deleted += await referrals.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken) ? 1 : 0;
        }

        return deleted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention purge: {Referrals} referrals erased, {GuardRows} guard rows, {EmailRows} email records, {ParkedRows} parked messages, {ClickRows} raw clicks into {ClickSummaries} summaries, {AuditRows} audit entries")]
    private partial void LogPurged(int referrals, int guardRows, int emailRows, int parkedRows, int clickSummaries, int clickRows, int auditRows);
}
