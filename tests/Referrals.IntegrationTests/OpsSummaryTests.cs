using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The summary and the funnel for a known set of referrals, run in-process on a FakeTimeProvider.</summary>
[Collection(OpsIndexCollection.Name)]
public class OpsSummaryTests(LifecycleFixture fixture)
{
    private static readonly DateTimeOffset Now = new(2031, 3, 10, 12, 30, 0, TimeSpan.Zero);

    private static EmailLedgerEntity Email(string id, string key, string state, DateTimeOffset at) =>
        new() { PartitionKey = id, RowKey = EmailLedgerEntity.RowKeyFor(key), LedgerKey = key, State = state, ClaimedAt = at, SentAt = state == EmailLedgerEntity.Sent ? at : null };

    [Fact]
    public async Task The_summary_counts_a_known_set_of_referrals()
    {
        await using var seed = new OpsIndexSeed(fixture, Now);
        var h = TimeSpan.FromHours(1);

        // A: routed and notified 2 hours ago, both emails sent with the move; one bounced since.
        var a = await seed.ReceiveAsync(Now - 2 * h, topic: "ketamine-for-depression", post: "post-a");
        await seed.OfferAsync(a.Row, "sp-001", Now - 2 * h);
        await seed.MoveAsync(a.Row, c => c.MarkEmailed(Now - 2 * h),
            [Email(a.Id, "VisitorConfirmation", EmailLedgerEntity.Sent, Now - 2 * h), Email(a.Id, "SpecialistNewReferral-1", EmailLedgerEntity.Sent, Now - 2 * h)]);
        var index = seed.Services.GetRequiredService<ReferralIndex>();
        await index.MarkBounceAsync(a.Id, a.Row.ReceivedAt, "SpecialistNewReferral-1", Now - 0.5 * h, CancellationToken.None);
        // B: received 3 days ago, accepted an hour ago; its acceptance email failed.
        var b = await seed.ReceiveAsync(Now - TimeSpan.FromDays(3));
        await seed.OfferAsync(b.Row, "sp-002", Now - TimeSpan.FromDays(3));
        await seed.MoveAsync(b.Row, c => c.Accept("sp-002", c.Assignment, Now - h));
        await index.MarkEmailsAsync(b.Id, b.Row.ReceivedAt, [Email(b.Id, "VisitorAccepted-1", EmailLedgerEntity.Failed, Now - h)], CancellationToken.None);
        // C: in triage.
        var c = await seed.ReceiveAsync(Now - h, topic: "ketamine-for-depression", post: "post-b");
        await seed.MoveAsync(c.Row, x => x.SendToTriage(Now - h, "No specialist."));
        // D: urgent, offered 10 hours ago (past the 4-hour urgent reminder).
        var d = await seed.ReceiveAsync(Now - 10 * h, topic: "oral-ketamine", urgent: true);
        await seed.OfferAsync(d.Row, "sp-003", Now - 10 * h);
        // E: 40 days old, still unanswered: outside the window, but open and past its SLA.
        var e = await seed.ReceiveAsync(Now - TimeSpan.FromDays(40));
        await seed.OfferAsync(e.Row, "sp-004", Now - TimeSpan.FromDays(40));
        // F: failed 5 hours ago.
        var f = await seed.ReceiveAsync(Now - 5 * h);
        await seed.MoveAsync(f.Row, x => x.Fail(Now - 5 * h, "routing"));
        // G: a repeat's stub: not a new referral.
        var g = await seed.ReceiveAsync(Now - 0.5 * h);
        await seed.MoveAsync(g.Row, x => x.MarkDuplicate(a.Id, Now - 0.5 * h));

        var summary = seed.Function<GetSummary>();
        var (status, body) = await seed.CallAsync(r => summary.Run(r, CancellationToken.None));
        Assert.Equal(200, status);
        var counts = body!["statusCounts"]!;
        Assert.Equal(
            "Received=0 Routed=1 NeedsTriage=1 Notified=1 Accepted=1 Withdrawn=0 Failed=1 Duplicate=1",
            string.Join(' ', Enum.GetNames<ReferralStatus>().Select(s => $"{s}={counts[s]}")));
        Assert.Equal("""{"received":4,"routed":2,"accepted":1,"failed":1}""", body["last24h"]!.ToJsonString());
        Assert.Equal("""{"received":5,"routed":3,"accepted":1,"failed":1}""", body["last7d"]!.ToJsonString());
        Assert.Equal("""{"sent":2,"failed":1,"bounced":1}""", body["emails24h"]!.ToJsonString());
        Assert.Equal(2, body["pastSla"]!.GetValue<int>());
        Assert.Equal(1, body["urgentNotAccepted"]!.GetValue<int>());
        Assert.Equal(1, body["waitingInTriage"]!.GetValue<int>());

        var hourly = body["hourly"]!.AsArray();
        Assert.Equal(24, hourly.Count);
        Assert.Equal("2031-03-10T12:00:00Z", hourly[23]!["hour"]!.ToString());
        Assert.Equal("2031-03-09T13:00:00Z", hourly[0]!["hour"]!.ToString());
        Assert.Equal("""{"hour":"2031-03-10T10:00:00Z","received":1,"notified":1,"failed":0}""", hourly[21]!.ToJsonString());
        Assert.Equal("""{"hour":"2031-03-10T07:00:00Z","received":1,"notified":0,"failed":1}""", hourly[18]!.ToJsonString());
        Assert.Equal(0, hourly[23]!["received"]!.GetValue<int>()); // only G, a repeat

        var queues = body["queues"]!.AsArray();
        Assert.Equal(StorageNames.Queues, queues.Select(q => q!["name"]!.ToString()));
        Assert.All(queues, q => Assert.NotNull(q!["poisonDepth"]));

        // The funnel over the two latest days, by topic and by source post.
        var clicks = seed.Services.GetRequiredKeyedService<TableClient>(StorageNames.ClicksTable);
        await clicks.AddEntityAsync(new TableEntity("2031-03-10", Guid.NewGuid().ToString("N")) { ["Topic"] = "ketamine-for-depression", ["Post"] = "post-a" });
        await clicks.AddEntityAsync(new TableEntity("2031-03-10", Guid.NewGuid().ToString("N")) { ["Topic"] = "ketamine-for-depression", ["Post"] = "post-b" });
        await clicks.AddEntityAsync(new TableEntity("summary-2031-03-09", Guid.NewGuid().ToString("N")) { ["Topic"] = "ketamine-for-depression", ["Post"] = "post-a", ["Count"] = 5 });
        await clicks.AddEntityAsync(new TableEntity("2031-03-11", Guid.NewGuid().ToString("N")) { ["Topic"] = "ketamine-for-depression", ["Post"] = "post-a" });
        var guards = seed.Services.GetRequiredKeyedService<TableClient>(StorageNames.IntakeGuardsTable);
        await guards.AddEntityAsync(new TableEntity("spam-honeypot", "20310310") { ["Count"] = 3 });
        await guards.AddEntityAsync(new TableEntity("spam-bad-stamp", "20310309") { ["Count"] = 1 });
        await guards.AddEntityAsync(new TableEntity("spam-honeypot", "20310308") { ["Count"] = 7 });

        var funnel = seed.Function<GetFunnel>();
        var (funnelStatus, byTopic) = await seed.CallAsync(r => funnel.Run(r, CancellationToken.None), "?from=2031-03-09&to=2031-03-10&by=topic");
        Assert.Equal(200, funnelStatus);
        Assert.Equal(4, byTopic!["spamDropped"]!.GetValue<int>());
        Assert.Equal(
            """[{"key":"ketamine-for-depression","clicks":7,"submissions":2,"spamDropped":null,"routed":1,"accepted":0},{"key":"oral-ketamine","clicks":0,"submissions":1,"spamDropped":null,"routed":1,"accepted":0},{"key":"(none)","clicks":0,"submissions":1,"spamDropped":null,"routed":0,"accepted":0}]""",
            byTopic["rows"]!.ToJsonString());

        var (_, bySource) = await seed.CallAsync(r => funnel.Run(r, CancellationToken.None), "?from=2031-03-07&to=2031-03-10&by=source");
        Assert.Equal(
            """[{"key":"post-a","clicks":6,"submissions":1,"spamDropped":null,"routed":1,"accepted":0},{"key":"post-b","clicks":1,"submissions":1,"spamDropped":null,"routed":0,"accepted":0},{"key":"(none)","clicks":0,"submissions":3,"spamDropped":null,"routed":2,"accepted":1}]""",
            bySource!["rows"]!.ToJsonString());

        var (badStatus, _) = await seed.CallAsync(r => funnel.Run(r, CancellationToken.None), "?by=state");
        Assert.Equal(400, badStatus);
    }
}
