using Azure;
using Azure.Data.Tables;

namespace Referrals.Functions.Storage;

public static class TableRows
{
    /// <summary>
    /// Deletes a row; a row already gone counts as deleted (erasure and purges run again and side by side). With an
    /// ETag, a row changed since it was read is left alone: false, and the caller reads it again.
    /// </summary>
    public static async Task<bool> DeleteIfPresentAsync(this TableClient table, string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(partitionKey, rowKey, ifMatch, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            return false;
        }
    }

    /// <summary>Deletes every row of a partition, whatever its state.</summary>
    public static async Task DeletePartitionAsync(this TableClient table, string partitionKey, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, select: [nameof(ITableEntity.RowKey)], cancellationToken: cancellationToken))
        {
            await table.DeleteIfPresentAsync(partitionKey, row.RowKey, ETag.All, cancellationToken);
        }
    }
}
