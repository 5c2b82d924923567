using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Chaos;

/// <summary>What the run's Azurite holds at the end: each referral's status, the parked poison messages, the poison queues.</summary>
internal sealed record FinalState(
    IReadOnlyDictionary<string, string> Statuses,
    IReadOnlyList<(string Queue, string? ReferralId, DateTimeOffset ParkedAt)> Parked,
    IReadOnlyDictionary<string, int> PoisonQueueDepths);

/// <summary>
/// Reads the pipeline's storage from outside, with the bench's own clients and the table and queue names the app uses
/// (the run is black box: it uses no type of the app).
/// </summary>
internal sealed class ChaosState(string connectionString)
{
    private static readonly string[] PoisonQueues =
        ["referral-intake-poison", "referral-notifications-poison", "referral-intake-urgent-poison", "referral-notifications-urgent-poison"];

    private readonly TableClient referrals = new(connectionString, "Referrals", BenchClients.Tables());
    private readonly TableClient parked = new(connectionString, "PoisonMessages", BenchClients.Tables());
    private Dictionary<string, DateTimeOffset> lastParked = [];

    /// <summary>Parked referrals and when each was parked first; the last answer while Azurite restarts.</summary>
    public async Task<IReadOnlyDictionary<string, DateTimeOffset>> ParkedAsync(CancellationToken cancellationToken)
    {
        try
        {
            var rows = await ParkedRowsAsync(cancellationToken);
            lastParked = rows.Where(r => r.ReferralId is not null).GroupBy(r => r.ReferralId!).ToDictionary(g => g.Key, g => g.Min(r => r.ParkedAt));
        }
        catch (Exception e) when (Unreachable(e, cancellationToken))
        {
        }

        return lastParked;
    }

    public async Task<int?> ParkedCountAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await ParkedRowsAsync(cancellationToken)).Count;
        }
        catch (Exception e) when (Unreachable(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>
    /// Referrals that no visitor was answered with and that are still Received: a request that died after storing
    /// its referral left it, and the app's reconciler has not yet folded it into the answered one (as a stub).
    /// Null while Azurite restarts.
    /// </summary>
    public async Task<int?> UnansweredReceivedAsync(IReadOnlySet<string> answered, CancellationToken cancellationToken)
    {
        try
        {
            var count = 0;
            var filter = TableClient.CreateQueryFilter($"RowKey eq {"referral"} and Status eq {"Received"}");
            await foreach (var row in referrals.QueryAsync<TableEntity>(filter, select: ["PartitionKey"], cancellationToken: cancellationToken))
            {
                count += answered.Contains(row.PartitionKey) ? 0 : 1;
            }

            return count;
        }
        catch (Exception e) when (Unreachable(e, cancellationToken))
        {
            return null;
        }
    }

    public async Task<FinalState> ReadFinalAsync(CancellationToken cancellationToken)
    {
        var statuses = new Dictionary<string, string>();
        var filter = TableClient.CreateQueryFilter($"RowKey eq {"referral"}");
        await foreach (var row in referrals.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "Status"], cancellationToken: cancellationToken))
        {
            statuses[row.PartitionKey] = row.GetString("Status") ?? "";
        }

        var depths = new Dictionary<string, int>();
        foreach (var name in PoisonQueues)
        {
            var queue = new QueueClient(connectionString, name, BenchClients.Queues());
            depths[name] = await queue.ExistsAsync(cancellationToken) ? (await queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount : 0;
        }

        return new FinalState(statuses, await ParkedRowsAsync(cancellationToken), depths);
    }

    private async Task<List<(string Queue, string? ReferralId, DateTimeOffset ParkedAt)>> ParkedRowsAsync(CancellationToken cancellationToken)
    {
        var rows = new List<(string, string?, DateTimeOffset)>();
        await foreach (var row in parked.QueryAsync<TableEntity>(select: ["PartitionKey", "ReferralId", "ParkedAt"], cancellationToken: cancellationToken))
        {
            rows.Add((row.PartitionKey, row.GetString("ReferralId"), row.GetDateTimeOffset("ParkedAt") ?? row.Timestamp ?? DateTimeOffset.MinValue));
        }

        return rows;
    }

    private static bool Unreachable(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && e is RequestFailedException or HttpRequestException or AggregateException or TaskCanceledException;
}
