using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Referrals.DevHost;
using Referrals.Functions.Notifications;
using Referrals.Functions.Storage;
using WireMock;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Referrals.IntegrationTests;

/// <summary>
/// The rate limit as the account's: real hosts on one Azurite, SendGrid played by WireMock, which refuses the first
/// email with a 429 whose X-RateLimit-Reset is a few seconds after the moment it refuses.
/// </summary>
public class SendGridRateGateHostTests(AzuriteFixture fixture) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly WireMockServer sendGrid = WireMockServer.Start(new WireMock.Settings.WireMockServerSettings { DisableJsonBodyParsing = true });
    private DateTimeOffset? reset;

    public void Dispose()
    {
        sendGrid.Stop();
        GC.SuppressFinalize(this);
    }

    /// <summary>The first email gets a 429 until <paramref name="ahead"/> whole seconds later; every email after it, a 202.</summary>
    private void RefuseTheFirstEmail(int ahead)
    {
        var refusals = 0;
        sendGrid.Given(Request.Create().WithPath("/v3/mail/send").UsingPost()).RespondWith(Response.Create().WithCallback(_ =>
        {
            if (Interlocked.Increment(ref refusals) > 1)
            {
                var accepted = new ResponseMessage { StatusCode = 202 };
                accepted.AddHeader("X-Message-Id", Guid.NewGuid().ToString("N"));
                return accepted;
            }

            var at = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + ahead);
            reset = at;
            var refused = new ResponseMessage { StatusCode = 429 };
            refused.AddHeader("X-RateLimit-Reset", at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            return refused;
        }));
    }

    private Task<DevHostApp> StartHostAsync() => PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
    {
        ["Email:SendGridHost"] = sendGrid.Url,
        ["Email:Resilience:BaseDelay"] = "00:00:00.200",
        // The breaker has its own test; a 429 must not open it here.
        ["Email:Resilience:MinimumThroughput"] = "1000",
    });

    private static HttpClient ClientOf(DevHostApp host) =>
        new(new DistinctClientHandler { InnerHandler = new HttpClientHandler() }) { BaseAddress = host.BaseAddress };

    private static async Task<string> SubmitAsync(HttpClient http)
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Gale Gate", email = $"gate-{Guid.NewGuid():N}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
    }

    private static Task WaitForNotifiedAsync(HttpClient http, string id) =>
        Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == "Notified",
            TimeSpan.FromSeconds(60), $"{id} to be Notified");

    private ILogEntry Refused() => Assert.Single(sendGrid.LogEntries, e => Equals(e.ResponseMessage.StatusCode, 429));

    /// <summary>Every request SendGrid received after the 429: none may have come before the reset.</summary>
    private void AssertNothingSentBeforeTheReset()
    {
        var refusedAt = Refused().RequestMessage.DateTime;
        var resetAt = reset!.Value.UtcDateTime;
        var early = sendGrid.LogEntries.Select(e => e.RequestMessage.DateTime).Where(t => t > refusedAt && t < resetAt).Order().ToList();
        Assert.True(early.Count == 0, $"429 at {refusedAt:O} until {resetAt:O}, yet SendGrid was sent requests at {string.Join(", ", early.Select(t => t.ToString("O")))}");
    }

    private List<DateTime> RequestsMentioning(string id) =>
        sendGrid.LogEntries.Where(e => e.RequestMessage.Body?.Contains(id, StringComparison.Ordinal) == true).Select(e => e.RequestMessage.DateTime).ToList();

    [Fact]
    public async Task After_a_429_no_invocation_of_the_instance_sends_before_the_reset()
    {
        RefuseTheFirstEmail(ahead: 8);
        await using var host = await StartHostAsync();
        using var http = ClientOf(host);

        var first = await SubmitAsync(http);
        await Eventually.UntilAsync(() => Task.FromResult(sendGrid.LogEntries.Count()), n => n >= 1, TimeSpan.FromSeconds(30), "the first email");
        // Submitted once SendGrid has refused, so its send cannot have been on the wire already: everything it
        // sends before the reset is a send the gate should have held. The first invocation is still waiting meanwhile.
        var second = await SubmitAsync(http);
        await WaitForNotifiedAsync(http, first);
        await WaitForNotifiedAsync(http, second);

        AssertNothingSentBeforeTheReset();
        Assert.Equal(5, sendGrid.LogEntries.Count()); // the refused email again, and both referrals' two emails
        Assert.All(RequestsMentioning(second), t => Assert.True(t >= reset!.Value.UtcDateTime));
        Assert.Equal(2, RequestsMentioning(second).Count);

        // Not vacuous: the second invocation was trying to send (its ledger claim) while the gate was closed.
        var ledger = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);
        var claims = ledger.Query<EmailLedgerEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {second} and RowKey ge {EmailLedgerEntity.RowKeyPrefix} and RowKey lt {"email."}")).Select(r => r.ClaimedAt).ToList();
        Assert.True(claims.Min() < reset, $"the second referral's first claim {claims.Min():O} came after the reset {reset:O}: the test proved nothing");
    }

    [Fact]
    public async Task After_one_instance_meets_a_429_another_sends_nothing_before_the_reset()
    {
        RefuseTheFirstEmail(ahead: 15);
        var ledger = new TableClient(fixture.Azurite.ConnectionString, StorageNames.EmailLedgerTable);
        string fromA;
        await using (var hostA = await StartHostAsync())
        {
            using var httpA = ClientOf(hostA);
            fromA = await SubmitAsync(httpA);
            await Eventually.UntilAsync(
                async () => (await ledger.GetEntityIfExistsAsync<TableEntity>(SendGridRateGate.SharedPartition, SendGridRateGate.SharedRow)) is { HasValue: true } row
                    ? row.Value!.GetDateTimeOffset(SendGridRateGate.ResetAtProperty) : null,
                shared => shared is not null && shared == reset, TimeSpan.FromSeconds(30), "instance A to share its 429");
            // A stops, so that B alone takes the next referral from the queues the instances share: what B knows of
            // the 429 it can only have learned from the shared row. A's refused email waits in the queue for the reset.
        }

        await using var hostB = await StartHostAsync();
        using var httpB = ClientOf(hostB);
        var fromB = await SubmitAsync(httpB);
        await WaitForNotifiedAsync(httpB, fromB);
        await WaitForNotifiedAsync(httpB, fromA);

        AssertNothingSentBeforeTheReset();
        Assert.Equal(2, RequestsMentioning(fromB).Count);
        Assert.All(RequestsMentioning(fromB), t => Assert.True(t >= reset!.Value.UtcDateTime));

        // Not vacuous: B learned of the 429 from the row while the reset was still ahead.
        var learned = hostB.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Where(r => r.Category == typeof(SendGridRateGate).FullName && r.Message.StartsWith("Another instance met", StringComparison.Ordinal));
        Assert.Contains(learned, r => r.Timestamp < reset);
    }
}
