using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Functions.Notifications;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The retention purge on Azurite, with time moved by FakeTimeProvider, alone and as two instances at once.</summary>
[Collection(LifecycleCollection.Name)]
public class RetentionTests(LifecycleFixture fixture)
{
    private TableClient Referrals => fixture.Table(StorageNames.ReferralsTable);

    private async Task<RetentionPurge.Result> PurgeAtAsync(DateTimeOffset now)
    {
        await using var services = fixture.ServicesAt(new FakeTimeProvider(now));
        return await services.GetRequiredService<RetentionPurge>().PurgeAsync(CancellationToken.None);
    }

    private static async Task<List<TableEntity>> RowsAsync(TableClient table, string? filter = null)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(filter))
        {
            rows.Add(row);
        }

        return rows;
    }

    private Task<List<TableEntity>> PartitionAsync(TableClient table, string partition) =>
        RowsAsync(table, TableClient.CreateQueryFilter($"PartitionKey eq {partition}"));

    private static string Day(DateTimeOffset at) => at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Personal_details_go_after_the_period_since_the_last_activity_and_the_stub_keeps_its_status()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-5);
        var quiet = await fixture.InsertReferralAsync(marker, t0, t0);
        var active = await fixture.InsertReferralAsync(marker, t0, t0.AddDays(100));

        await PurgeAtAsync(t0.AddDays(179));
        Assert.Equal($"Rhea{marker} Kept", (await Referrals.FindReferralAsync(quiet, CancellationToken.None))!.Name);

        await PurgeAtAsync(t0.AddDays(181));
        var stub = (await Referrals.FindReferralAsync(quiet, CancellationToken.None))!;
        Assert.Equal(("", "", "NeedsTriage", true), (stub.Name, stub.Email, stub.Status, stub.IsErased));
        Assert.Equal(t0, stub.ReceivedAt);
        var partition = await PartitionAsync(Referrals, quiet);
        Assert.DoesNotContain(partition.SelectMany(r => r), p => (Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "").Contains(marker, StringComparison.Ordinal));
        var history = await Referrals.GetHistoryAsync(quiet, CancellationToken.None);
        Assert.Equal((ReferralStatus.NeedsTriage, Actor.System, ReferralErasure.RetentionReason), (history[^1].Status, history[^1].Actor, history[^1].Reason));
        var audit = Assert.Single(partition, r => r.RowKey.StartsWith(ReferralErasure.AuditRowPrefix, StringComparison.Ordinal));
        Assert.Equal(("retention-erase", "system"), (audit.GetString("Action"), audit.GetString("Actor")));
        Assert.Equal($"Rhea{marker} Kept", (await Referrals.FindReferralAsync(active, CancellationToken.None))!.Name); // active 81 days ago

        await PurgeAtAsync(t0.AddDays(281));
        Assert.True((await Referrals.FindReferralAsync(active, CancellationToken.None))!.IsErased);
        await PurgeAtAsync(t0.AddDays(282)); // again: nothing more happens to a stub
        Assert.Equal(history.Count, (await Referrals.GetHistoryAsync(quiet, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Guard_rows_go_once_their_own_window_has_passed()
    {
        var m = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow.AddDays(3);
        var guards = fixture.Table(StorageNames.IntakeGuardsTable);
        string Hour(DateTimeOffset at) => at.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
        string DayKey(DateTimeOffset at) => at.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var rows = new (TableEntity Row, bool Kept)[]
        {
            (new($"rate-{m}", Hour(now.AddHours(-2))) { ["Count"] = 1 }, false),
            (new($"rate-{m}", Hour(now)) { ["Count"] = 1 }, true),
            (new($"confirm-{m}", DayKey(now.AddDays(-1))) { ["Count"] = 1 }, false),
            (new($"confirm-{m}", DayKey(now)) { ["Count"] = 1 }, true),
            (new($"dedupe-{m}a", "") { ["ReferralId"] = "R-AAAAA-AAAAA", ["ClaimedAt"] = now.AddHours(-25) }, false),
            (new($"dedupe-{m}b", "") { ["ReferralId"] = "R-AAAAA-AAAAB", ["ClaimedAt"] = now.AddHours(-23) }, true),
            (new($"idem-{m}a", "") { ["ReferralId"] = "R-AAAAA-AAAAC", ["ClaimedAt"] = now.AddHours(-25) }, false),
            (new($"idem-{m}b", "") { ["ReferralId"] = "R-AAAAA-AAAAD", ["ClaimedAt"] = now.AddHours(-1) }, true),
            (new($"spam-{m}", DayKey(now.AddDays(-10))) { ["Count"] = 4 }, true),
            (new($"spam-{m}", DayKey(now.AddDays(-100))) { ["Count"] = 4 }, false),
        };
        foreach (var (row, _) in rows)
        {
            await guards.AddEntityAsync(row);
        }

        await PurgeAtAsync(now);

        foreach (var (row, kept) in rows)
        {
            Assert.True(kept == (await guards.GetEntityIfExistsAsync<TableEntity>(row.PartitionKey, row.RowKey)).HasValue, $"{row.PartitionKey}/{row.RowKey} should be {(kept ? "kept" : "gone")}");
        }
    }

    [Fact]
    public async Task Email_records_go_after_their_period_while_a_live_referral_keeps_only_what_stops_a_second_send()
    {
        var http = fixture.Http;
        var visitor = $"records-{Guid.NewGuid():N}@example.com";
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Rita Records", email = visitor, state = "IL", treatment = "oral-ketamine", consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        await Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == "Notified", TimeSpan.FromSeconds(20), "notified");
        var ledger = fixture.Table(StorageNames.ReferralsTable);
        var unmatchedEvents = fixture.Table(StorageNames.EmailLedgerTable);
        var confirmation = (await ledger.GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation"))).Value;
        var matched = Guid.NewGuid().ToString("N");
        var unmatched = Guid.NewGuid().ToString("N");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(SendGridEventTests.Post(SendGridEventTests.Events(confirmation, (matched, "delivered")), DateTimeOffset.UtcNow))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(SendGridEventTests.Post(SendGridEventTests.Events("unknown" + unmatched, (unmatched, "delivered")), DateTimeOffset.UtcNow))).StatusCode);
        Assert.True((await ledger.GetEntityIfExistsAsync<TableEntity>(id, SendGridEvents.EventRowPrefix + matched)).HasValue);
        Assert.True((await unmatchedEvents.GetEntityIfExistsAsync<TableEntity>(SendGridEvents.UnmatchedEventsPartition, SendGridEvents.EventRowPrefix + unmatched)).HasValue);
        var messageIds = (await PartitionAsync(ledger, id)).Select(r => r.GetString("ProviderMessageId")).OfType<string>().ToList();
        Assert.Equal(2, messageIds.Count);

        await PurgeAtAsync(DateTimeOffset.UtcNow.AddDays(29));
        Assert.Equal("delivered", (await ledger.GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation"))).Value.LastEvent);

        await PurgeAtAsync(DateTimeOffset.UtcNow.AddDays(31));

        var partition = await PartitionAsync(ledger, id);
        var left = partition.Where(r => r.RowKey.StartsWith(EmailLedgerEntity.RowKeyPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(["email-SpecialistNewReferral-1", "email-VisitorConfirmation"], left.Select(r => r.RowKey).Order(StringComparer.Ordinal));
        Assert.All(left, r =>
        {
            Assert.Equal(EmailLedgerEntity.Sent, r.GetString("State"));
            Assert.False(r.ContainsKey("ProviderMessageId") || r.ContainsKey("SendId") || r.ContainsKey("LastEvent") || r.ContainsKey("LastEventAt"));
        });
        Assert.DoesNotContain(partition, r => r.RowKey.StartsWith(SendGridEvents.EventRowPrefix, StringComparison.Ordinal));
        Assert.False((await unmatchedEvents.GetEntityIfExistsAsync<TableEntity>(SendGridEvents.UnmatchedEventsPartition, SendGridEvents.EventRowPrefix + unmatched)).HasValue);

        // The marks left are what keep a redelivered message from emailing the visitor again.
        var mailsBefore = (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Count(m => m!["to"]![0]!.ToString() == visitor);
        await ActivatorUtilities.CreateInstance<SendNotifications>(fixture.Host.Services).Run(new ReferralMessage(id), CancellationToken.None);
        Assert.Equal(mailsBefore, (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Count(m => m!["to"]![0]!.ToString() == visitor));
    }

    [Fact]
    public async Task Parked_messages_go_after_their_period()
    {
        var now = DateTimeOffset.UtcNow.AddDays(1);
        var parked = fixture.Table(StorageNames.PoisonTable);
        var old = new TableEntity(StorageNames.NotificationQueue, $"old-{Guid.NewGuid():N}") { ["Body"] = "{}", ["ParkedAt"] = now.AddDays(-31) };
        var recent = new TableEntity(StorageNames.NotificationQueue, $"recent-{Guid.NewGuid():N}") { ["Body"] = "{}", ["ParkedAt"] = now.AddDays(-29) };
        await parked.AddEntityAsync(old);
        await parked.AddEntityAsync(recent);

        await PurgeAtAsync(now);

        Assert.False((await parked.GetEntityIfExistsAsync<TableEntity>(old.PartitionKey, old.RowKey)).HasValue);
        Assert.True((await parked.GetEntityIfExistsAsync<TableEntity>(recent.PartitionKey, recent.RowKey)).HasValue);
    }

    private async Task<Dictionary<(string Day, string Topic), int>> SummariesAsync(string post) =>
        (await RowsAsync(fixture.Table(StorageNames.ClicksTable), TableClient.CreateQueryFilter($"Post eq {post}")))
            .Where(r => r.PartitionKey.StartsWith(ClickRollup.SummaryPrefix, StringComparison.Ordinal))
            .ToDictionary(r => (r.GetString("Day")!, r.GetString("Topic")!), r => r.GetInt32("Count")!.Value);

    private async Task<int> RawClicksAsync(string post) =>
        (await RowsAsync(fixture.Table(StorageNames.ClicksTable), TableClient.CreateQueryFilter($"Post eq {post}")))
            .Count(r => !r.PartitionKey.StartsWith(ClickRollup.SummaryPrefix, StringComparison.Ordinal));

    /// <summary>Stands in for an instance that stops (crashes) right after writing its summaries, before any delete.</summary>
    private sealed class StopsBeforeDeletes(string connectionString) : TableClient(connectionString, StorageNames.ClicksTable)
    {
        public override Task<Azure.Response<IReadOnlyList<Azure.Response>>> SubmitTransactionAsync(IEnumerable<TableTransactionAction> transactionActions, CancellationToken cancellationToken = default) =>
            throw new OperationCanceledException("stopped before deleting");

        public override Task<Azure.Response> DeleteEntityAsync(string partitionKey, string rowKey, Azure.ETag ifMatch = default, CancellationToken cancellationToken = default) =>
            throw new OperationCanceledException("stopped before deleting");
    }

    [Fact]
    public async Task Raw_clicks_are_counted_per_day_topic_and_post_before_they_go_and_a_stop_between_is_safe()
    {
        var post = $"post-{Guid.NewGuid():N}";
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Redirect, (await fixture.Http.GetAsync($"/api/learn-more/oral-ketamine?post={post}&utm_source=news")).StatusCode);
        }

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.Redirect, (await fixture.Http.GetAsync($"/api/learn-more/iv-ketamine-infusion?post={post}")).StatusCode);
        }

        var today = Day(DateTimeOffset.UtcNow);
        var clicks = fixture.Table(StorageNames.ClicksTable);
        var older = Day(DateTimeOffset.UtcNow.AddDays(-5));
        var stopped = Day(DateTimeOffset.UtcNow.AddDays(-7));
        for (var i = 0; i < 4; i++)
        {
            await clicks.AddEntityAsync(new TableEntity(older, Guid.NewGuid().ToString("N")) { ["Topic"] = "oral-ketamine", ["Post"] = post });
            await clicks.AddEntityAsync(new TableEntity(stopped, Guid.NewGuid().ToString("N")) { ["Topic"] = "general-consultation", ["Post"] = post });
        }

        // An instance counts the oldest day, then stops before deleting anything.
        await Assert.ThrowsAsync<OperationCanceledException>(() => new ClickRollup(new StopsBeforeDeletes(fixture.Azurite.ConnectionString)).RollUpAsync(DateTimeOffset.UtcNow.AddDays(-4), CancellationToken.None));
        Assert.Equal(new Dictionary<(string, string), int> { [(stopped, "general-consultation")] = 4 }, await SummariesAsync(post));
        Assert.Equal(13, await RawClicksAsync(post));

        await PurgeAtAsync(DateTimeOffset.UtcNow.AddDays(89));
        Assert.Equal(new Dictionary<(string, string), int> { [(older, "oral-ketamine")] = 4, [(stopped, "general-consultation")] = 4 }, await SummariesAsync(post));
        Assert.Equal(5, await RawClicksAsync(post)); // today's are still inside the period

        await PurgeAtAsync(DateTimeOffset.UtcNow.AddDays(91));
        await PurgeAtAsync(DateTimeOffset.UtcNow.AddDays(92)); // again: nothing counted twice

        var summaries = await SummariesAsync(post);
        Assert.Equal(4, summaries.Count);
        Assert.Equal(3, summaries[(today, "oral-ketamine")]);
        Assert.Equal(2, summaries[(today, "iv-ketamine-infusion")]);
        Assert.Equal(0, await RawClicksAsync(post));
    }

    [Fact]
    public async Task Two_purges_at_once_erase_each_referral_once_and_count_each_click_once()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-5);
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add(await fixture.InsertReferralAsync(marker, t0, t0));
        }

        var post = $"post-{marker}";
        var clicks = fixture.Table(StorageNames.ClicksTable);
        var days = new[] { Day(t0.AddDays(-2)), Day(t0.AddDays(-3)) };
        var topics = new[] { "oral-ketamine", "general-consultation" };
        var expected = new Dictionary<(string, string), int>();
        var n = 0;
        foreach (var day in days)
        {
            foreach (var topic in topics)
            {
                var count = 5 + n++;
                expected[(day, topic)] = count;
                for (var i = 0; i < count; i++)
                {
                    await clicks.AddEntityAsync(new TableEntity(day, Guid.NewGuid().ToString("N")) { ["Topic"] = topic, ["Post"] = post });
                }
            }
        }

        var now = t0.AddDays(200);
        await using var first = fixture.ServicesAt(new FakeTimeProvider(now));
        await using var second = fixture.ServicesAt(new FakeTimeProvider(now));
        await Task.WhenAll(
            first.GetRequiredService<RetentionPurge>().PurgeAsync(CancellationToken.None),
            second.GetRequiredService<RetentionPurge>().PurgeAsync(CancellationToken.None));

        foreach (var id in ids)
        {
            var partition = await PartitionAsync(Referrals, id);
            var stub = Assert.Single(partition, r => r.RowKey == ReferralEntity.RowKeyValue);
            Assert.Equal("NeedsTriage", stub.GetString("Status"));
            Assert.False(stub.ContainsKey("Name") || stub.ContainsKey("SweepPending"));
            Assert.Single(partition, r => r.RowKey.StartsWith(ReferralErasure.AuditRowPrefix, StringComparison.Ordinal));
            Assert.Single(await Referrals.GetHistoryAsync(id, CancellationToken.None), h => h.Reason == ReferralErasure.RetentionReason);
            Assert.Equal(3, stub.GetInt32("HistoryCount"));
        }

        Assert.Equal(expected, await SummariesAsync(post));
        Assert.Equal(0, await RawClicksAsync(post));
    }

    [Fact]
    public async Task Erasures_of_one_referral_racing_each_other_end_in_one_stub()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var t0 = DateTimeOffset.UtcNow;
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await fixture.InsertReferralAsync(marker, t0, t0));
        }

        await using var first = fixture.ServicesAt(new FakeTimeProvider(t0.AddDays(200)));
        await using var second = fixture.ServicesAt(new FakeTimeProvider(t0.AddDays(200)));
        var erasures = new[] { first, second }.Select(s => s.GetRequiredService<ReferralErasure>()).ToList();

        var results = await Task.WhenAll(ids.SelectMany(id => Enumerable.Range(0, 3).SelectMany(_ => erasures.Select(e => e.EraseForRetentionAsync(id, CancellationToken.None)))));

        Assert.All(results, Assert.True);
        foreach (var id in ids)
        {
            var partition = await PartitionAsync(Referrals, id);
            Assert.Single(partition, r => r.RowKey.StartsWith(ReferralErasure.AuditRowPrefix, StringComparison.Ordinal));
            Assert.Single(await Referrals.GetHistoryAsync(id, CancellationToken.None), h => h.Reason == ReferralErasure.RetentionReason);
            Assert.DoesNotContain(partition.SelectMany(r => r), p => (Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "").Contains(marker, StringComparison.Ordinal));
        }
    }
}
