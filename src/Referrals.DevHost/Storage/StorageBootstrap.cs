using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace Referrals.DevHost.Storage;

/// <summary>Creates the queues and tables the app needs, as infra does in Azure.</summary>
public static class StorageBootstrap
{
    public static async Task CreateAsync(string connectionString, IEnumerable<string> queues, IEnumerable<string> tables, CancellationToken cancellationToken)
    {
        var queueService = new QueueServiceClient(connectionString);
        var tableService = new TableServiceClient(connectionString);
        await Task.WhenAll(
            queues.Distinct().Select(q => queueService.GetQueueClient(q).CreateIfNotExistsAsync(cancellationToken: cancellationToken))
                .Concat<Task>(tables.Distinct().Select(t => tableService.CreateTableIfNotExistsAsync(t, cancellationToken))));
    }
}
