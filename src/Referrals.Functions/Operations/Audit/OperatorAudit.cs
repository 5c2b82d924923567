using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Audit;

/// <summary>
/// The operator audit log. Every entry goes to the <c>OperatorAudit</c> table by day (PartitionKey <c>yyyyMMdd</c>,
/// newest first within a day), so the audit API reads a date range without scanning; an entry about a referral is also
/// kept in the referral's partition (<c>audit-…</c>), where its timeline reads it with everything else. Actions that
/// change a referral put <see cref="ReferralRow"/> into their own transaction, so an action is never done unaudited.
/// </summary>
public sealed class OperatorAudit(
    [FromKeyedServices(StorageNames.OperatorAuditTable)] TableClient audit)
{
    public const string RowPrefix = "audit-";

    public static string DayKey(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The entry as a row of the referral's partition, for the action's own transaction. The partition names the
    /// referral, so the row does not repeat it: after an erasure, no row but the partition's own says which it was.
    /// </summary>
    public static TableEntity ReferralRow(AuditEntry entry)
    {
        var row = Fill(new TableEntity(entry.ReferralId ?? throw new ArgumentException("The entry names no referral.", nameof(entry)), $"{RowPrefix}{entry.At.UtcTicks:D19}-{Guid.NewGuid():N}"), entry);
        row.Remove(nameof(AuditEntry.ReferralId));
        return row;
    }

    /// <summary>Writes the entry to the day's log (one request).</summary>
    public Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        audit.AddEntityAsync(
            Fill(new TableEntity(DayKey(entry.At), $"{DateTimeOffset.MaxValue.UtcTicks - entry.At.UtcTicks:D19}-{Guid.NewGuid():N}"), entry),
            cancellationToken);

    public static AuditEntry Read(TableEntity row) => new(
        row.GetDateTimeOffset(nameof(AuditEntry.At)) ?? row.Timestamp ?? DateTimeOffset.MinValue,
        row.GetString(nameof(AuditEntry.KeyName)) ?? row.GetString("Actor") ?? OperatorIdentity.UnnamedKey,
        row.GetString(nameof(AuditEntry.Action)) ?? "",
        row.GetString(nameof(AuditEntry.ReferralId)) ?? (row.RowKey.StartsWith(RowPrefix, StringComparison.Ordinal) ? row.PartitionKey : null),
        row.GetString(nameof(AuditEntry.Reason)) ?? "",
        row.GetString(nameof(AuditEntry.Detail)));

    private static TableEntity Fill(TableEntity row, AuditEntry entry)
    {
        row[nameof(AuditEntry.At)] = entry.At;
        row[nameof(AuditEntry.KeyName)] = entry.KeyName;
        row[nameof(AuditEntry.Action)] = entry.Action;
        row[nameof(AuditEntry.ReferralId)] = entry.ReferralId;
        row[nameof(AuditEntry.Reason)] = entry.Reason;
        row[nameof(AuditEntry.Detail)] = entry.Detail;
        return row;
    }
}
