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
    /// <param name="known">
    /// The row as the caller last saw it, with its ETag (<see cref="Known"/>): the first attempt decides on it without
    /// reading, and only a conflict costs a read. <see cref="Known.Absent"/> for rows that are usually new (counters
    /// keyed by hour or day): the first attempt is a bare insert.
    /// </param>
    public static async Task<TResult> ChangeAsync<TEntity, TResult>(
        this TableClient table, string partitionKey, string rowKey, Func<TEntity?, Task<(TEntity? Write, TResult Result)>> decide, CancellationToken cancellationToken, Known<TEntity>? known = null)
        where TEntity : class, ITableEntity, new()
    {
        for (var attempt = 1; ; attempt++)
        {
            TEntity? current;
            if (attempt == 1 && known is not null)
            {
                current = known.Row;
            }
            else
            {
                var existing = await table.GetEntityIfExistsAsync<TEntity>(partitionKey, rowKey, cancellationToken: cancellationToken);
                current = existing.HasValue ? existing.Value : null;
            }

            var etag = current?.ETag ?? default;
            var (write, result) = await decide(current);
            if (write is null)
            {
                return result;
            }

            try
            {
                var response = current is null
                    ? await table.AddEntityAsync(write, cancellationToken)
                    : await table.UpdateEntityAsync(write, etag, TableUpdateMode.Replace, cancellationToken);

                // The row as written, so a caller that keeps it can write again without reading.
                write.ETag = response.Headers.ETag ?? default;
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
        this TableClient table, string partitionKey, string rowKey, Func<TEntity?, (TEntity? Write, TResult Result)> decide, CancellationToken cancellationToken, Known<TEntity>? known = null)
        where TEntity : class, ITableEntity, new() =>
        table.ChangeAsync<TEntity, TResult>(partitionKey, rowKey, current => Task.FromResult(decide(current)), cancellationToken, known);
}

/// <summary>What the caller believes a row holds (null: that there is none), to skip the read before a first attempt.</summary>
public sealed record Known<TEntity>(TEntity? Row)
    where TEntity : class
{
    public static Known<TEntity> Absent { get; } = new((TEntity?)null);
}
