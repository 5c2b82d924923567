using System.Globalization;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Console;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: from a blog link to an accepted referral, by topic or by source post, for a date range (UTC days,
/// inclusive). Clicks come from LinkClicks (raw days and the daily summaries retention leaves), submissions, routed and
/// accepted from the index (by received day). Spam is counted by reason and day only, since a dropped submission's
/// topic and post are whatever the sender typed: rows carry <c>spamDropped: null</c>, and the range's total is
/// <c>spamDropped</c> beside them.
/// </summary>
public sealed class GetFunnel(
    ReferralIndex index,
    [FromKeyedServices(StorageNames.ClicksTable)] TableClient clicks,
    [FromKeyedServices(StorageNames.IntakeGuardsTable)] TableClient guards,
    TimeProvider clock)
{
    public const string NoKey = "(none)";

    private sealed class Row
    {
        public int Clicks;
        public int Submissions;
        public int Routed;
        public int Accepted;
    }

    [Function(nameof(GetFunnel))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/funnel")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var range = ReferralFilter.Parse(name => name is "from" or "to" ? request.Query[name].FirstOrDefault() : null, clock.GetUtcNow(), errors);
        var by = request.Query["by"].FirstOrDefault() is { Length: > 0 } text ? text.Trim().ToLowerInvariant() : "topic";
        if (by is not ("topic" or "source"))
        {
            errors["by"] = ["topic or source."];
        }

        if (range is null || errors.Count > 0)
        {
            return Problems.Validation(errors, "The funnel's range is not valid.");
        }

        var rows = new Dictionary<string, Row>(StringComparer.Ordinal);
        Row For(string? key) => rows.TryGetValue(string.IsNullOrEmpty(key) ? NoKey : key, out var row) ? row : rows[string.IsNullOrEmpty(key) ? NoKey : key] = new Row();
        var clickColumn = by == "topic" ? "Topic" : "Post";

        var (from, to) = (Day(range.From, "yyyy-MM-dd"), Day(range.To, "yyyy-MM-dd"));
        var raw = TableClient.CreateQueryFilter($"PartitionKey ge {from} and PartitionKey le {to}");
        await foreach (var click in clicks.QueryAsync<TableEntity>(raw, select: [clickColumn], cancellationToken: cancellationToken))
        {
            For(click.GetString(clickColumn)).Clicks++;
        }

        var summaries = TableClient.CreateQueryFilter($"PartitionKey ge {ClickRollup.SummaryPrefix + from} and PartitionKey le {ClickRollup.SummaryPrefix + to}");
        await foreach (var summary in clicks.QueryAsync<TableEntity>(summaries, select: [clickColumn, "Count"], cancellationToken: cancellationToken))
        {
            For(summary.GetString(clickColumn)).Clicks += summary.GetInt32("Count") ?? 0;
        }

        await foreach (var entity in index.Table.QueryAsync<TableEntity>(range.ToTableFilter(), cancellationToken: cancellationToken))
        {
            var referral = IndexedReferral.From(entity);
            if (referral.Status == ReferralStatus.Duplicate)
            {
                continue; // a repeat of a live referral: its sender's first submission already counts
            }

            var row = For(by == "topic" ? referral.Topic : referral.SourcePost);
            row.Submissions++;
            row.Routed += referral.MarkOf(ReferralStatus.Routed) is null ? 0 : 1;
            row.Accepted += referral.MarkOf(ReferralStatus.Accepted) is null ? 0 : 1;
        }

        var spam = 0;
        var (spamFrom, spamTo) = (Day(range.From, "yyyyMMdd"), Day(range.To, "yyyyMMdd"));
        var spamFilter = TableClient.CreateQueryFilter($"PartitionKey ge {"spam-"} and PartitionKey lt {"spam."} and RowKey ge {spamFrom} and RowKey le {spamTo}");
        await foreach (var counter in guards.QueryAsync<TableEntity>(spamFilter, select: ["Count"], cancellationToken: cancellationToken))
        {
            spam += counter.GetInt32("Count") ?? 0;
        }

        return TypedResults.Ok(new
        {
            from = range.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            to = range.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            by,
            spamDropped = spam,
            rows = rows.OrderBy(r => r.Key == NoKey).ThenBy(r => r.Key, StringComparer.Ordinal).Select(r => new
            {
                key = r.Key,
                clicks = r.Value.Clicks,
                submissions = r.Value.Submissions,
                spamDropped = (int?)null,
                routed = r.Value.Routed,
                accepted = r.Value.Accepted,
            }),
        });
    }

    private static string Day(DateOnly day, string format) => day.ToString(format, CultureInfo.InvariantCulture);
}
