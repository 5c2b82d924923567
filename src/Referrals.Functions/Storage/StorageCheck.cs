using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Referrals.Functions.Storage;

/// <summary>
/// At start-up, checks that every queue and table the app uses exists, and refuses to start naming each one that
/// does not. It never creates them: infra declares them (and the DevHost creates them locally), so a name that is in
/// the code and not in the deployment fails here, loudly, instead of living on as storage no template knows about.
/// </summary>
public sealed partial class StorageCheck(TableServiceClient tables, QueueServiceClient queues, ILogger<StorageCheck> logger) : IHostedService
{
    /// <summary>The pipeline's queues and their poison queues, which the poison triggers listen on.</summary>
    public static IReadOnlyList<string> RequiredQueues { get; } =
        [.. StorageNames.Queues, .. StorageNames.Queues.Select(q => q + "-poison")];

    public static IReadOnlyList<string> RequiredTables => StorageNames.Tables;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var (missingQueues, missingTables) = await FindMissingAsync(cancellationToken);
        if (missingQueues.Count == 0 && missingTables.Count == 0)
        {
            return;
        }

        var missing = string.Join("; ", new[]
        {
            missingQueues.Count > 0 ? $"queues {string.Join(", ", missingQueues)}" : null,
            missingTables.Count > 0 ? $"tables {string.Join(", ", missingTables)}" : null,
        }.OfType<string>());
        LogMissing(logger, tables.AccountName, missing);
        throw new InvalidOperationException(
            $"Storage account '{tables.AccountName}' lacks what the app needs: {missing}. Deploy infra/ (it declares them), " +
            "or run the DevHost with DevHost:CreateStorage=true (the default) to create them locally.");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// One existence check per queue (Get Queue Metadata, as the host's queue listener does) and one listing of the
    /// tables: reads that Storage Queue Data Contributor and Storage Table Data Contributor allow.
    /// </summary>
    public async Task<(IReadOnlyList<string> Queues, IReadOnlyList<string> Tables)> FindMissingAsync(CancellationToken cancellationToken)
    {
        var queueChecks = RequiredQueues.Select(async q => (Name: q, Exists: (await queues.GetQueueClient(q).ExistsAsync(cancellationToken)).Value)).ToList();

        var existingTables = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await foreach (var table in tables.QueryAsync(cancellationToken: cancellationToken))
        {
            existingTables.Add(table.Name);
        }

        var queueResults = await Task.WhenAll(queueChecks);
        return (
            queueResults.Where(q => !q.Exists).Select(q => q.Name).ToList(),
            RequiredTables.Where(t => !existingTables.Contains(t)).ToList());
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Storage account {Account} lacks what the app needs: {Missing}; the app does not start")]
    private static partial void LogMissing(ILogger logger, string account, string missing);
}
