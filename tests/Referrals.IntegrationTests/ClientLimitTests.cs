using Referrals.Core.Security;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Functions.Intake;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Who a rate limit counts against: the forwarded client address only from trusted proxies, IPv6 per /64, and a limit
/// per email address. The fixture trusts its loopback test client as a front door.
/// </summary>
[Collection(PipelineCollection.Name)]
public partial class ClientLimitTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private static Dictionary<string, object?> Json(string email, string treatment = "iv-ketamine-infusion") => new()
    {
        ["name"] = "Lim Itt", ["email"] = email, ["state"] = "NY", ["treatment"] = treatment,
        ["consent"] = true, ["privacyAcknowledged"] = true, ["adult"] = true,
    };

    private static string NewEmail() => $"limit-{Guid.NewGuid():N}@example.com";

    /// <summary>A /64 no other test uses: 2001:db8:7xxx:yyyy::/64.</summary>
    private static string NewBlock() => $"2001:db8:{0x7000 + Random.Shared.Next(0x1000):x}:{Random.Shared.Next(1, 0x10000):x}";

    private Task<HttpResponseMessage> PostAsync(HttpClient client, string forwardedFor, string? email = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(Json(email ?? NewEmail())) };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return client.SendAsync(request);
    }

    private async Task<int?> RateCountAsync(string client)
    {
        var hash = fixture.Host.Services.GetRequiredService<KeyedHash>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {"rate-" + hash.Of("client", client)}");
        int? total = null;
        await foreach (var row in new TableClient(fixture.Azurite.ConnectionString, StorageNames.IntakeGuardsTable).QueryAsync<TableEntity>(filter))
        {
            total = (total ?? 0) + (row.GetInt32("Count") ?? 0);
        }

        return total;
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_right_most_untrusted_forwarded_address_counts_and_ipv6_shares_a_limit_per_64()
    {
        var block = NewBlock();
        var statuses = new List<HttpStatusCode>();
        for (var i = 1; i <= 6; i++)
        {
            // Each post from another address in the same /64, after a different address the client made up, and
            // some through a second proxy of ours: the limit still sees one client.
            var chain = $"198.51.100.{i}, {block}::{i:x}" + (i % 2 == 0 ? ", 127.0.0.1" : "");
            statuses.Add((await PostAsync(http, chain)).StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Accepted, 5), HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(6, await RateCountAsync($"{block}::/64"));
        Assert.Null(await RateCountAsync("198.51.100.1"));

        // The next /64 is another subscriber, and IPv4 clients are limited per address.
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(http, $"{NewBlock()}::1")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(http, "203.0.113.77")).StatusCode);
        Assert.Equal(1, await RateCountAsync("203.0.113.77"));
    }

    [Fact]
    public async Task X_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored()
    {
        // The same app, trusting only a proxy that is not in the path: the loopback test client is just a client.
        await using var untrusting = await PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Intake:TrustedProxies:0"] = "192.0.2.10",
            ["Intake:TrustedProxies:1"] = "192.0.2.0/28",
        });
        using var client = new HttpClient { BaseAddress = untrusting.BaseAddress };
        var before = await RateCountAsync("127.0.0.1") ?? 0;
        var claimed = new[] { NewBlock(), NewBlock() };

        foreach (var block in claimed)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(client, $"{block}::1")).StatusCode);
        }

        Assert.True(await RateCountAsync("127.0.0.1") >= before + 2);
        foreach (var block in claimed)
        {
            Assert.Null(await RateCountAsync($"{block}::/64"));
        }
    }

    [Fact]
    public async Task An_email_address_gets_five_accepted_submissions_a_day_then_429_or_the_form_with_a_message()
    {
        var email = NewEmail();
        var statuses = new List<HttpStatusCode>();
        foreach (var treatment in new[] { "iv-ketamine-infusion", "esketamine-nasal-spray", "oral-ketamine", "consultation", "iv-ketamine-infusion" })
        {
            statuses.Add((await http.PostAsJsonAsync("/api/referrals", Json(email, treatment))).StatusCode);
        }

        // Each from its own client address, and the address in other letter case: still the same email.
        var over = await http.PostAsJsonAsync("/api/referrals", Json(email.ToUpperInvariant(), "consultation"));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Accepted, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
        Assert.Equal("application/problem+json", over.Content.Headers.ContentType!.MediaType);
        Assert.InRange(over.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        var problem = await over.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(IntakeGuards.EmailLimitMessage, problem!["detail"]!.ToString());
        var hash = fixture.Host.Services.GetRequiredService<KeyedHash>();
        var counter = new TableClient(fixture.Azurite.ConnectionString, StorageNames.IntakeGuardsTable)
            .QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {IntakeKeys.EmailLimit(hash, email)}"));
        var rows = new List<TableEntity>();
        await foreach (var row in counter)
        {
            rows.Add(row);
        }

        Assert.Equal(5, Assert.Single(rows).GetInt32("Count")); // refused posts use none of the allowance

        // A form post gets the form again, with the values kept and the reason next to the email field.
        var renderedAt = DateTimeOffset.UtcNow;
        var stamp = StampPattern().Match(await http.GetStringAsync("/api/interest")).Groups[1].Value;
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);
        var form = await http.PostAsync("/api/referrals", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["name"] = "Lim Itt", ["email"] = email, ["state"] = "NY", ["treatment"] = "oral-ketamine", ["contactMethod"] = "email",
            ["consent"] = "yes", ["privacyAcknowledged"] = "yes", ["adult"] = "yes", ["stamp"] = stamp, ["website"] = "",
        }));
        var html = await form.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.TooManyRequests, form.StatusCode);
        Assert.Equal("text/html", form.Content.Headers.ContentType!.MediaType);
        Assert.Contains(IntakeGuards.EmailLimitMessage, html);
        Assert.Contains($"value=\"{email}\"", html);
        Assert.Contains("988", html);
    }

    [GeneratedRegex("name=\"stamp\" value=\"([^\"]+)\"")]
    private static partial Regex StampPattern();
}
