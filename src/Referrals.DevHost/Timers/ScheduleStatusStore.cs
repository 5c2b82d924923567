using Azure;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;

namespace Referrals.DevHost.Timers;

/// <summary>
/// Each timer's last and next occurrence, kept in the storage account as the host's schedule monitor keeps them
/// (StorageScheduleMonitor in azure-webjobs-sdk-extensions, a status blob per timer), so that a run missed while the
/// DevHost was stopped is reported as past due at the next start. A table row here, as the DevHost has no blob client.
/// </summary>
public sealed class ScheduleStatusStore(TableClient table)
{
    public const string TableName = "DevHostTimers";
    private const string Partition = "timers";
    private bool created;

    public static ScheduleStatusStore FromConnection(string connectionString) => new(new TableClient(connectionString, TableName));

    public async Task<ScheduleStatus?> ReadAsync(string functionName, CancellationToken cancellationToken)
    {
        try
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(Partition, functionName, cancellationToken: cancellationToken);
            return row.HasValue
                ? new ScheduleStatus
                {
                    Last = row.Value!.GetDateTimeOffset("Last")!.Value.UtcDateTime,
                    Next = row.Value.GetDateTimeOffset("Next")!.Value.UtcDateTime,
                    LastUpdated = row.Value.GetDateTimeOffset("LastUpdated")!.Value.UtcDateTime,
                }
                : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task WriteAsync(string functionName, ScheduleStatus status, CancellationToken cancellationToken)
    {
        if (!created)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            created = true;
        }

        await table.UpsertEntityAsync(new TableEntity(Partition, functionName)
        {
            ["Last"] = Utc(status.Last),
            ["Next"] = Utc(status.Next),
            ["LastUpdated"] = Utc(status.LastUpdated),
        }, TableUpdateMode.Replace, cancellationToken);
    }

    // Table storage keeps dates from 1601; the host's "never" (DateTime.MinValue) is stored as that floor.
    private static DateTimeOffset Utc(DateTime value) =>
        value < new DateTime(1601, 1, 2, 0, 0, 0, DateTimeKind.Utc) ? new DateTimeOffset(1601, 1, 2, 0, 0, 0, TimeSpan.Zero) : new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
