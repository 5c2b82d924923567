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

/// <summary>Maps an untyped row (from a query that returns several kinds of row of one partition) to its entity type.</summary>
public static class TableRowMapping
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString };

    /// <summary>
    /// The row's properties by name, as the SDK would bind them, plus its keys and ETag. Entities here hold strings,
    /// numbers, booleans and dates only, which keep their values through JSON.
    /// </summary>
    public static T As<T>(this TableEntity row)
        where T : class, ITableEntity, new()
    {
        var values = row.Where(p => !p.Key.StartsWith("odata.", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value);
        var entity = System.Text.Json.JsonSerializer.Deserialize<T>(System.Text.Json.JsonSerializer.Serialize(values, Json), Json) ?? new T();
        entity.PartitionKey = row.PartitionKey;
        entity.RowKey = row.RowKey;
        entity.Timestamp = row.Timestamp;
        entity.ETag = row.ETag;
        return entity;
    }
}
