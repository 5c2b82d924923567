using Azure;
using Azure.Data.Tables;

namespace Referrals.Functions.Storage;

/// <summary>
/// The one read-change-write loop for rows that concurrent writers share (counters and loads): read the row, let the
/// caller decide, write with the ETag that was read (or add the row when there was none), and when another writer got
/// there first, read again and decide again. Bounded, so a row nobody can win fails loudly instead of spinning.
/// </summary>
public static class OptimisticConcurrency
{
    public const int MaxAttempts = 25;

    /// <param name="decide">
    /// Gets the current row (null when there is none) and returns the row to write (the same object changed, or a new
    /// one when there was none; null to write nothing) and the result to return once the write holds.
    /// </param>
    public static async Task<TResult> ChangeAsync<TEntity, TResult>(
        this TableClient table, string partitionKey, string rowKey, Func<TEntity?, Task<(TEntity? Write, TResult Result)>> decide, CancellationToken cancellationToken)
        where TEntity : class, ITableEntity, new()
    {
        for (var attempt = 1; ; attempt++)
        {
            var existing = await table.GetEntityIfExistsAsync<TEntity>(partitionKey, rowKey, cancellationToken: cancellationToken);
            var current = existing.HasValue ? existing.Value : null;
            var etag = current?.ETag ?? default;
            var (write, result) = await decide(current);
            if (write is null)
            {
                return result;
            }

            try
            {
                if (current is null)
                {
                    await table.AddEntityAsync(write, cancellationToken);
                }
                else
                {
                    await table.UpdateEntityAsync(write, etag, TableUpdateMode.Replace, cancellationToken);
                }

                return result;
            }
            catch (RequestFailedException e) when (e.Status is 404 or 409 or 412 && attempt < MaxAttempts)
            {
                // Added, changed or deleted by another writer since we read it: decide again on what is there now.
            }
        }
    }

    /// <summary>The same, for a decision that needs no further reads.</summary>
    public static Task<TResult> ChangeAsync<TEntity, TResult>(
        this TableClient table, string partitionKey, string rowKey, Func<TEntity?, (TEntity? Write, TResult Result)> decide, CancellationToken cancellationToken)
        where TEntity : class, ITableEntity, new() =>
        table.ChangeAsync<TEntity, TResult>(partitionKey, rowKey, current => Task.FromResult(decide(current)), cancellationToken);
}
