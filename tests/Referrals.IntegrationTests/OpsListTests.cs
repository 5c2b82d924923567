using System.Net;
using System.Text.Json.Nodes;
using Referrals.Core.Referrals;

namespace Referrals.IntegrationTests;

/// <summary>GET /api/ops/referrals over HTTP: filters, newest first across days, paging, bad filters and keys.</summary>
[Collection(OpsIndexCollection.Name)]
public class OpsListTests(LifecycleFixture fixture)
{
    private static readonly DateTimeOffset Day1 = new(2032, 5, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed record Seeded(string Received1, string Triage, string UrgentRouted, string Routed, string Accepted, string Received6, string Received7);

    private static readonly SemaphoreSlim Once = new(1, 1);
    private static Seeded? seeded;

    /// <summary>Seven referrals over three days (written once for the class).</summary>
    private async Task<Seeded> SeedAsync()
    {
        await Once.WaitAsync();
        try
        {
            if (seeded is not null)
            {
                return seeded;
            }

            await using var seed = new OpsIndexSeed(fixture, Day1.AddDays(3));
            var l1 = await seed.ReceiveAsync(Day1.AddHours(10), "oral-ketamine", topic: "oral-ketamine", post: "p1");
            var l2 = await seed.ReceiveAsync(Day1.AddHours(11), "consultation");
            await seed.MoveAsync(l2.Row, c => c.SendToTriage(Day1.AddHours(11), "No specialist."));
            var l3 = await seed.ReceiveAsync(Day1.AddDays(1).AddHours(9), "iv-ketamine-infusion", urgent: true);
            await seed.OfferAsync(l3.Row, "sp-001", Day1.AddDays(1).AddHours(9));
            var l4 = await seed.ReceiveAsync(Day1.AddDays(1).AddHours(9.5), "iv-ketamine-infusion", post: "p2");
            await seed.OfferAsync(l4.Row, "sp-002", Day1.AddDays(1).AddHours(9.5));
            var l5 = await seed.ReceiveAsync(Day1.AddDays(2).AddHours(8), "esketamine-nasal-spray", topic: "esketamine-nasal-spray");
            await seed.OfferAsync(l5.Row, "sp-001", Day1.AddDays(2).AddHours(8));
            await seed.MoveAsync(l5.Row, c => c.Accept("sp-001", c.Assignment, Day1.AddDays(2).AddHours(9)));
            var l6 = await seed.ReceiveAsync(Day1.AddDays(2).AddHours(8.1), "oral-ketamine");
            var l7 = await seed.ReceiveAsync(Day1.AddDays(2).AddHours(8.2), "oral-ketamine", topic: "ketamine-for-depression", post: "p1");
            return seeded = new Seeded(l1.Id, l2.Id, l3.Id, l4.Id, l5.Id, l6.Id, l7.Id);
        }
        finally
        {
            Once.Release();
        }
    }

    private async Task<JsonObject> ListAsync(string query)
    {
        var response = await fixture.Http.GetAsync($"/api/ops/referrals?code={TestKeys.Host}&{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private async Task<List<string>> IdsAsync(string query) =>
        (await ListAsync("from=2032-05-01&to=2032-05-03&" + query))["items"]!.AsArray().Select(i => i!["id"]!.ToString()).ToList();

    [Fact]
    public async Task Pages_run_newest_first_across_days_until_the_continuation_runs_out()
    {
        var s = await SeedAsync();
        var seen = new List<string>();
        string? continuation = null;
        var pages = 0;
        do
        {
            var page = await ListAsync($"from=2032-05-01&to=2032-05-03&pageSize=3{(continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation))}");
            var items = page["items"]!.AsArray();
            Assert.True(items.Count == 3 || page["continuation"] is null, "only the last page may be short");
            seen.AddRange(items.Select(i => i!["id"]!.ToString()));
            continuation = page["continuation"]?.GetValue<string>();
            pages++;
        }
        while (continuation is not null && pages < 10);

        Assert.Equal([s.Received7, s.Received6, s.Accepted, s.Routed, s.UrgentRouted, s.Triage, s.Received1], seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task Each_filter_is_applied()
    {
        var s = await SeedAsync();
        Assert.Equal([s.Routed, s.UrgentRouted], await IdsAsync("status=Routed"));
        Assert.Equal([s.Routed, s.UrgentRouted], await IdsAsync("status=routed"));
        Assert.Equal([s.Accepted, s.UrgentRouted], await IdsAsync("specialist=sp-001"));
        Assert.Equal([s.Received7, s.Received6, s.Received1], await IdsAsync("treatment=oral-ketamine"));
        Assert.Equal([s.Received1], await IdsAsync("topic=oral-ketamine"));
        Assert.Equal([s.Received7, s.Received1], await IdsAsync("source=p1"));
        Assert.Equal([s.UrgentRouted], await IdsAsync("urgent=true"));
        Assert.Equal(6, (await IdsAsync("urgent=false")).Count);
        Assert.Equal([s.Routed, s.UrgentRouted], (await ListAsync("from=2032-05-02&to=2032-05-02"))["items"]!.AsArray().Select(i => i!["id"]!.ToString()));
        Assert.Equal([s.UrgentRouted], await IdsAsync("status=Routed&treatment=iv-ketamine-infusion&urgent=true"));
    }

    [Fact]
    public async Task An_item_says_what_operators_need_and_nothing_personal()
    {
        var s = await SeedAsync();
        var items = (await ListAsync("from=2032-05-01&to=2032-05-03"))["items"]!.AsArray();
        var urgent = items.Single(i => i!["id"]!.ToString() == s.UrgentRouted)!.AsObject();
        Assert.Equal("Routed", urgent["status"]!.ToString());
        Assert.Equal("sp-001", urgent["specialistId"]!.ToString());
        Assert.Equal("iv-ketamine-infusion", urgent["treatment"]!.ToString());
        Assert.True(urgent["urgent"]!.GetValue<bool>());
        // Offered years before the host's real clock reaches it: not past its SLA.
        Assert.False(urgent["pastSla"]!.GetValue<bool>());
        Assert.Equal(new DateTimeOffset(2032, 5, 2, 9, 0, 0, TimeSpan.Zero), urgent["receivedAt"]!.GetValue<DateTimeOffset>());
        Assert.Null(items.Single(i => i!["id"]!.ToString() == s.Triage)!["specialistId"]);
        var text = items.ToJsonString();
        Assert.DoesNotContain("Rhea", text, StringComparison.Ordinal);
        Assert.DoesNotContain("example.com", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("status=Nope", "status")]
    [InlineData("status=3", "status")]
    [InlineData("from=2032-05-03&to=2032-05-01", "from")]
    [InlineData("from=2030-01-01&to=2032-05-01", "from")]
    [InlineData("to=05/01/2032", "to")]
    [InlineData("treatment=aspirin", "treatment")]
    [InlineData("urgent=yes", "urgent")]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=101", "pageSize")]
    [InlineData("continuation=not-ours", "continuation")]
    public async Task A_bad_filter_is_a_400_problem_naming_it(string query, string field)
    {
        var response = await fixture.Http.GetAsync($"/api/ops/referrals?code={TestKeys.Host}&{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]![field]);
    }

    [Fact]
    public async Task Without_a_key_or_with_a_wrong_one_the_answer_is_401()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/ops/referrals")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/ops/referrals?code=not-a-key")).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/ops/referrals");
        wrong.Headers.Add("x-functions-key", "not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(wrong)).StatusCode);
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/api/ops/summary"), (HttpMethod.Get, "/api/ops/funnel"), (HttpMethod.Post, "/api/ops/referrals/export") })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(new HttpRequestMessage(method, path))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(new HttpRequestMessage(method, path + "?code=not-a-key"))).StatusCode);
        }
    }

    [Fact]
    public async Task With_the_key_in_the_header_the_list_answers()
    {
        await SeedAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/ops/referrals?from=2032-05-01&to=2032-05-03&pageSize=1");
        request.Headers.Add("x-functions-key", TestKeys.Host);
        var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["continuation"]);
    }
}
