using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The audit API: a date range over the day partitions, a referral filter, continuation paging.</summary>
[Collection(PipelineCollection.Name)]
public class AuditLogTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private static string Day(DateTimeOffset at) => at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private async Task<HttpResponseMessage> GetAsync(string query) =>
        await http.SendAsync(OperatorApi.Request(HttpMethod.Get, "/api/ops/audit?" + query));

    [Fact]
    public async Task Pages_run_newest_first_through_the_range_with_a_bounded_number_of_days_each_and_never_repeat_an_entry()
    {
        var referral = ReferralId.New();
        var log = new OperatorAudit(new TableClient(fixture.Azurite.ConnectionString, StorageNames.OperatorAuditTable));
        var now = DateTimeOffset.UtcNow;
        var expected = new List<AuditEntry>();
        foreach (var at in new[] { now.AddDays(-40).AddMinutes(-1), now.AddDays(-40), now.AddDays(-3).AddMinutes(-2), now.AddDays(-3).AddMinutes(-1), now.AddDays(-3) })
        {
            var entry = new AuditEntry(at, "ops-test", "view-personal", referral, $"reason at {at:O}", "detail");
            await log.RecordAsync(entry, CancellationToken.None);
            expected.Add(entry);
        }

        await log.RecordAsync(new AuditEntry(now.AddDays(-3), "ops-test", "export", null, "someone else's entry"), CancellationToken.None);

        var pages = new List<JsonObject>();
        string? continuation = null;
        do
        {
            var response = await GetAsync($"referral={referral}&from={Day(now.AddDays(-45))}&to={Day(now)}&pageSize=2{(continuation is null ? "" : "&continuation=" + continuation)}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            pages.Add(page);
            continuation = page["continuation"]?.GetValue<string>();
            Assert.True(pages.Count < 10, "paging must end");
        }
        while (continuation is not null);

        var items = pages.SelectMany(p => p["items"]!.AsArray()).Select(i => i!.AsObject()).ToList();
        Assert.Equal(expected.OrderByDescending(e => e.At).Select(e => e.Reason), items.Select(i => i["reason"]!.ToString()));
        Assert.All(items, i => Assert.Equal((referral, "ops-test", "view-personal", "detail"), (i["referralId"]!.ToString(), i["keyName"]!.ToString(), i["action"]!.ToString(), i["detail"]!.ToString())));
        Assert.All(pages, p => Assert.True(p["items"]!.AsArray().Count <= 2));
        // A quiet stretch longer than a page's days ends a page early; the continuation carries on past it.
        Assert.Contains(pages, p => p["items"]!.AsArray().Count < 2 && p["continuation"] is not null);

        // The default range is the last 30 days.
        var recent = (await (await GetAsync($"referral={referral}")).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(3, recent["items"]!.AsArray().Count);
        Assert.Equal(Day(now), recent["to"]!.ToString());
    }

    [Theory]
    [InlineData("from=2026-13-01")]
    [InlineData("to=yesterday")]
    [InlineData("from=2025-01-01&to=2026-01-02")]
    [InlineData("from=2026-02-02&to=2026-02-01")]
    [InlineData("referral=not-a-reference")]
    [InlineData("pageSize=0")]
    [InlineData("pageSize=101")]
    [InlineData("continuation=bm9uc2Vuc2U")]
    public async Task A_bad_query_is_a_400_problem(string query)
    {
        var response = await GetAsync(query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

/// <summary>Audit entries are kept Retention:Audit (365 days), in the day log and in referrals' partitions.</summary>
[Collection(LifecycleCollection.Name)]
public class AuditRetentionTests(LifecycleFixture fixture)
{
    [Fact]
    public async Task Audit_entries_go_after_the_audit_retention_period_in_the_day_log_and_the_referrals_partition()
    {
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-5);
        var referral = await fixture.InsertReferralAsync(Guid.NewGuid().ToString("N")[..8], t0, t0);
        var day = fixture.Table(StorageNames.OperatorAuditTable);
        var referrals = fixture.Table(StorageNames.ReferralsTable);
        var old = new AuditEntry(t0, "ops-test", "view-personal", referral, "Old view");
        var newer = new AuditEntry(t0.AddDays(300), "ops-test", "view-personal", referral, "Newer view");
        await using (var services = fixture.ServicesAt(new FakeTimeProvider(t0)))
        {
            var log = services.GetRequiredService<OperatorAudit>();
            foreach (var entry in new[] { old, newer })
            {
                await log.RecordAsync(entry, CancellationToken.None);
                await referrals.AddEntityAsync(OperatorAudit.ReferralRow(entry));
            }
        }

        async Task<List<string>> ReasonsAsync()
        {
            var reasons = new List<string>();
            await foreach (var row in day.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"ReferralId eq {referral}")))
            {
                reasons.Add("log: " + row.GetString("Reason"));
            }

            // Only the views: retention's own erasure of the referral adds an audit row of its own.
            await foreach (var row in referrals.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {referral} and RowKey ge {OperatorAudit.RowPrefix} and RowKey lt {"audit."} and Action eq {"view-personal"}")))
            {
                reasons.Add("partition: " + row.GetString("Reason"));
            }

            return [.. reasons.Order(StringComparer.Ordinal)];
        }

        async Task PurgeAtAsync(DateTimeOffset now)
        {
            await using var services = fixture.ServicesAt(new FakeTimeProvider(now));
            await services.GetRequiredService<RetentionPurge>().PurgeAsync(CancellationToken.None);
        }

        await PurgeAtAsync(t0.AddDays(364));
        Assert.Equal(["log: Newer view", "log: Old view", "partition: Newer view", "partition: Old view"], await ReasonsAsync());

        await PurgeAtAsync(t0.AddDays(367));
        Assert.Equal(["log: Newer view", "partition: Newer view"], await ReasonsAsync());
    }
}
