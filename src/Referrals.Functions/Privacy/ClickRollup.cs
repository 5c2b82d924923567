using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Privacy;

/// <summary>
/// Raw learn-more clicks (one row per click, one partition per day) are kept for the LinkClicks period, then
/// counted into one summary row per day, topic and post (partition summary-yyyy-MM-dd) and deleted. Summaries are
/// written with Add before any raw row is deleted: a second instance, or the run after a crash, finds the summary
/// already there and only finishes the deletes, so a click is never counted twice or lost.
/// </summary>
public sealed class ClickRollup([FromKeyedServices(StorageNames.ClicksTable)] TableClient clicks)
{
    public const string SummaryPrefix = "summary-";

    public sealed record Result(int Summaries, int RawRowsDeleted);

    public async Task<Result> RollUpAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        // A day is complete and past the period when its end is before the cutoff; raw partitions are yyyy-MM-dd and
        // sort before "summary-".
        var firstKept = olderThan.UtcDateTime.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var days = new SortedDictionary<string, List<TableEntity>>(StringComparer.Ordinal);
        await foreach (var row in clicks.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey lt {firstKept}"), cancellationToken: cancellationToken))
        {
            if (!days.TryGetValue(row.PartitionKey, out var list))
            {
                days[row.PartitionKey] = list = [];
            }

            list.Add(row);
        }

        var (summaries, deleted) = (0, 0);
        foreach (var (day, rows) in days)
        {
            foreach (var group in rows.GroupBy(r => (Topic: r.GetString("Topic") ?? "unknown", Post: r.GetString("Post"))))
            {
                summaries += await AddSummaryAsync(day, group.Key.Topic, group.Key.Post, group.Count(), cancellationToken) ? 1 : 0;
            }

            deleted += await DeleteAsync(rows, cancellationToken);
        }

        return new Result(summaries, deleted);
    }

    private async Task<bool> AddSummaryAsync(string day, string topic, string? post, int count, CancellationToken cancellationToken)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{topic}\n{post}")))[..32].ToLowerInvariant();
        try
        {
            await clicks.AddEntityAsync(new TableEntity(SummaryPrefix + day, key) { ["Day"] = day, ["Topic"] = topic, ["Post"] = post, ["Count"] = count }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false; // counted already, by another instance or by a run that stopped before its deletes
        }
    }

    private async Task<int> DeleteAsync(List<TableEntity> rows, CancellationToken cancellationToken)
    {
        var deleted = 0;
        foreach (var chunk in rows.Chunk(100))
        {
            try
            {
                await clicks.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, ETag.All)), cancellationToken);
            }
            catch (TableTransactionFailedException e) when (e.Status == 404)
            {
                // Another instance deleted some of them first: the rest one by one.
                foreach (var row in chunk)
                {
                    await clicks.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken);
                }
            }

            deleted += chunk.Length;
        }

        return deleted;
    }
}
