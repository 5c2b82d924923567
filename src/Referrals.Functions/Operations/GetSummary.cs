using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: is the pipeline healthy? Counts come from the index: one range query over the last
/// <see cref="WindowDays"/> days of received referrals, plus one for older referrals still open (a server-side status
/// filter), so a referral that waits long is never left out of "past SLA", "urgent not accepted" or "in triage".
/// Queue depths and the oldest waiting message come from the queues themselves.
/// </summary>
public sealed class GetSummary(ReferralIndex index, QueueServiceClient queues, IOptions<RoutingOptions> routing, TimeProvider clock)
{
    /// <summary>statusCounts, the 24 h and 7 day figures and emails cover referrals received this many days back.</summary>
    public const int WindowDays = 30;

    private static readonly ReferralStatus[] Open = [ReferralStatus.Received, ReferralStatus.Routed, ReferralStatus.Notified, ReferralStatus.NeedsTriage, ReferralStatus.Failed];

    [Function(nameof(GetSummary))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/summary")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var since = now.UtcDateTime.Date.AddDays(-(WindowDays - 1));
        var windowEdge = IndexedReferral.PartitionKeyFor(new DateTimeOffset(since, TimeSpan.Zero));
        // Tomorrow too: another instance's clock may run a little ahead at midnight.
        var newest = IndexedReferral.PartitionKeyFor(now.AddDays(1));
        var recent = new List<IndexedReferral>();
        await foreach (var row in index.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {newest} and PartitionKey le {windowEdge}"), cancellationToken: cancellationToken))
        {
            recent.Add(IndexedReferral.From(row));
        }

        var open = recent.Where(r => r.IsOpen).ToList();
        var olderOpen = string.Join(" or ", Open.Select(s => TableClient.CreateQueryFilter($"Status eq {s.ToString()}")));
        await foreach (var row in index.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey gt {windowEdge}") + $" and ({olderOpen})", cancellationToken: cancellationToken))
        {
            if (IndexedReferral.From(row) is { IsOpen: true } older)
            {
                open.Add(older);
            }
        }

        var sla = routing.Value;
        return TypedResults.Ok(new
        {
            generatedAt = now,
            statusCountsSince = new DateTimeOffset(since, TimeSpan.Zero),
            statusCounts = Enum.GetValues<ReferralStatus>().ToDictionary(s => s.ToString(), s => recent.Count(r => r.Status == s)),
            last24h = Activity(recent, now - TimeSpan.FromHours(24)),
            last7d = Activity(recent, now - TimeSpan.FromDays(7)),
            queues = await QueuesAsync(now, cancellationToken),
            emails24h = Emails(recent, now - TimeSpan.FromHours(24)),
            pastSla = open.Count(r => r.PastSla(now, sla.ReminderAfter, sla.UrgentReminderAfter)),
            urgentNotAccepted = open.Count(r => r.Urgent),
            waitingInTriage = open.Count(r => r.Status == ReferralStatus.NeedsTriage),
            hourly = Hourly(recent, now),
        });
    }

    /// <summary>Referrals received in the window (repeats' stubs aside), and those whose latest move of each kind fell in it.</summary>
    private static object Activity(List<IndexedReferral> rows, DateTimeOffset from) => new
    {
        received = rows.Count(r => r.ReceivedAt >= from && r.Status != ReferralStatus.Duplicate),
        routed = rows.Count(r => r.MarkOf(ReferralStatus.Routed) >= from),
        accepted = rows.Count(r => r.MarkOf(ReferralStatus.Accepted) >= from),
        failed = rows.Count(r => r.MarkOf(ReferralStatus.Failed) >= from),
    };

    /// <summary>Each email counted once, by its latest outcome in the window; a bounce counts when SendGrid reported it.</summary>
    private static object Emails(List<IndexedReferral> rows, DateTimeOffset from)
    {
        var emails = rows.SelectMany(r => r.Emails).ToList();
        return new
        {
            sent = emails.Count(e => e.State == EmailLedgerEntity.Sent && e.At >= from),
            failed = emails.Count(e => e.State == EmailLedgerEntity.Failed && e.At >= from),
            bounced = emails.Count(e => e.BouncedAt >= from),
        };
    }

    /// <summary>The last 24 whole hours up to the current one, oldest first.</summary>
    private static List<object> Hourly(List<IndexedReferral> rows, DateTimeOffset now)
    {
        var current = new DateTimeOffset(now.UtcDateTime.Date.AddHours(now.UtcDateTime.Hour), TimeSpan.Zero);
        var hours = new List<object>(24);
        for (var back = 23; back >= 0; back--)
        {
            var start = current.AddHours(-back);
            var end = start.AddHours(1);
            bool In(DateTimeOffset? at) => at >= start && at < end;
            hours.Add(new
            {
                hour = start.UtcDateTime,
                received = rows.Count(r => In(r.ReceivedAt) && r.Status != ReferralStatus.Duplicate),
                notified = rows.Count(r => In(r.MarkOf(ReferralStatus.Notified))),
                failed = rows.Count(r => In(r.MarkOf(ReferralStatus.Failed))),
            });
        }

        return hours;
    }

    private async Task<List<object>> QueuesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var report = new List<object>();
        foreach (var name in StorageNames.Queues)
        {
            var queue = queues.GetQueueClient(name);
            var depth = await DepthAsync(queue, cancellationToken);
            double? oldest = null;
            if (depth > 0)
            {
                // The front of the queue: what has waited longest among the messages now visible.
                var peeked = await queue.PeekMessagesAsync(1, cancellationToken);
                if (peeked.Value is [{ InsertedOn: { } inserted }, ..])
                {
                    oldest = Math.Max(0, Math.Round((now - inserted).TotalSeconds));
                }
            }

            report.Add(new { name, depth, poisonDepth = await DepthAsync(queues.GetQueueClient($"{name}-poison"), cancellationToken), oldestWaitingSeconds = oldest });
        }

        return report;
    }

    private static async Task<int> DepthAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        try
        {
            return (await queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status404NotFound)
        {
            return 0; // poison queues are created on first use
        }
    }
}
