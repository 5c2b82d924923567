using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using Referrals.DevHost;
using Referrals.Functions.Notifications;
using Referrals.Functions.Storage;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Referrals.IntegrationTests;

/// <summary>The real app with SendGrid replaced at its HTTP boundary by WireMock, on its own Azurite.</summary>
public sealed class SendGridFaultFixture : IAsyncLifetime
{
    public WireMockServer SendGrid { get; private set; } = null!;
    public AzuriteInstance Azurite { get; private set; } = null!;
    public DevHostApp Host { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Bodies stay plain strings, so mappings and assertions can look for a test's own visitor address in them.
        SendGrid = WireMockServer.Start(new WireMock.Settings.WireMockServerSettings { DisableJsonBodyParsing = true });
        Azurite = await AzuriteInstance.StartAsync();
        Host = await PipelineFixture.StartHostAsync(Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Email:SendGridHost"] = SendGrid.Url,
            ["Email:Resilience:BaseDelay"] = "00:00:00.200",
            ["Email:Resilience:AttemptTimeout"] = "00:00:01",
            ["Email:UnknownOutcomeGrace"] = "00:00:04",
            ["Email:Resilience:MaxRateLimitWait"] = "00:00:04",
            // The breaker has its own test; here it must not cut the retries being counted.
            ["Email:Resilience:MinimumThroughput"] = "1000",
        });
        Http = new HttpClient(new DistinctClientHandler { InnerHandler = new HttpClientHandler() }) { BaseAddress = Host.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
        SendGrid.Stop();
    }
}

public class SendGridFaultTests(SendGridFaultFixture fixture) : IClassFixture<SendGridFaultFixture>
{
    private WireMockServer SendGrid => fixture.SendGrid;

    private async Task<string> SubmitAsync(string visitor)
    {
        // Anything not mapped by a test (the specialists' emails) is simply accepted.
        SendGrid.Given(Request.Create().WithPath("/v3/mail/send").UsingPost()).AtPriority(100).RespondWith(Accepted());
        var response = await fixture.Http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Fay Fault", email = visitor, state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
    }

    private static string NewVisitor() => $"fault-{Guid.NewGuid():N}@example.com";

    /// <summary>The visitor's emails: their address is unique to the test and known before the reference is.</summary>
    private static IRequestBuilder MailTo(string visitor) =>
        Request.Create().WithPath("/v3/mail/send").UsingPost().WithBody(new WildcardMatcher($"*{visitor}*"));

    private List<DateTime> RequestsMentioning(string text) =>
        SendGrid.LogEntries.Where(e => e.RequestMessage.Body?.Contains(text, StringComparison.Ordinal) == true)
            .Select(e => e.RequestMessage.DateTime).Order().ToList();

    private static IResponseBuilder Accepted() => Response.Create().WithStatusCode(202).WithHeader("X-Message-Id", Guid.NewGuid().ToString("N"));

    private Task<JsonObject?> WaitForStatusAsync(string id, string status, int seconds = 30) =>
        Eventually.UntilAsync(() => fixture.Http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == status,
            TimeSpan.FromSeconds(seconds), $"{id} to be {status}");

    [Fact]
    public async Task A_429_is_not_retried_before_x_ratelimit_reset()
    {
        var visitor = NewVisitor();
        var reset = DateTimeOffset.UtcNow.AddSeconds(3);
        SendGrid.Given(MailTo(visitor)).InScenario(visitor).WillSetStateTo("open")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("X-RateLimit-Reset", reset.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        SendGrid.Given(MailTo(visitor)).InScenario(visitor).WhenStateIs("open").RespondWith(Accepted());

        var id = await SubmitAsync(visitor);
        await WaitForStatusAsync(id, "Notified");

        var requests = RequestsMentioning(visitor);
        Assert.Equal(2, requests.Count); // refused, then accepted
        Assert.True(requests[1] >= DateTimeOffset.FromUnixTimeSeconds(reset.ToUnixTimeSeconds()).UtcDateTime, $"retried at {requests[1]:O}, before the reset {reset:O}");
    }

    [Fact]
    public async Task A_429_with_a_distant_reset_is_queued_again_for_the_reset_instead_of_waiting()
    {
        var visitor = NewVisitor();
        var reset = DateTimeOffset.UtcNow.AddSeconds(8); // past MaxRateLimitWait (4 s)
        SendGrid.Given(MailTo(visitor)).InScenario(visitor).WillSetStateTo("open")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("X-RateLimit-Reset", reset.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        SendGrid.Given(MailTo(visitor)).InScenario(visitor).WhenStateIs("open").RespondWith(Accepted());

        var id = await SubmitAsync(visitor);
        await WaitForStatusAsync(id, "Notified", seconds: 40);

        var requests = RequestsMentioning(visitor);
        Assert.True(requests[1] >= DateTimeOffset.FromUnixTimeSeconds(reset.ToUnixTimeSeconds()).UtcDateTime, $"retried at {requests[1]:O}, before the reset {reset:O}");
    }

    [Fact]
    public async Task A_sendgrid_that_never_answers_in_time_ends_in_poison_after_bounded_attempts()
    {
        // Every attempt times out: three wait for the webhook without spending a dequeue attempt, then each counts.
        var visitor = NewVisitor();
        SendGrid.Given(MailTo(visitor)).RespondWith(Accepted().WithDelay(TimeSpan.FromSeconds(3)));

        var id = await SubmitAsync(visitor);

        await WaitForStatusAsync(id, "Failed", seconds: 120);
        // 3 held attempts, then one per dequeue up to maxDequeueCount 5 (the first of those was the third held one).
        Assert.InRange(RequestsMentioning(visitor).Count, 3, 8);
    }

    [Fact]
    public async Task A_5xx_is_retried_and_after_max_dequeue_count_the_message_goes_to_poison_with_bounded_attempts()
    {
        var visitor = NewVisitor();
        SendGrid.Given(MailTo(visitor)).RespondWith(Response.Create().WithStatusCode(503));

        var id = await SubmitAsync(visitor);
        // The poison handler parks it, marks the referral Failed and alerts operators once.
        await WaitForStatusAsync(id, "Failed", seconds: 60);
        var parked = new Azure.Data.Tables.TableClient(fixture.Azurite.ConnectionString, StorageNames.PoisonTable);
        var rows = parked.Query<Azure.Data.Tables.TableEntity>(Azure.Data.Tables.TableClient.CreateQueryFilter($"ReferralId eq {id}")).ToList();
        Assert.Equal(StorageNames.NotificationQueue, Assert.Single(rows).PartitionKey);
        await Eventually.UntilAsync(() => Task.FromResult(RequestsMentioning($"Referral {id} failed").Count), n => n == 1, TimeSpan.FromSeconds(10), "the operator alert");

        // Polly's 2 attempts × maxDequeueCount 5: bounded, and at most 12.
        Assert.Equal(10, RequestsMentioning(visitor).Count);
    }

    [Fact]
    public async Task A_timed_out_attempt_that_the_webhook_never_reports_is_sent_again_only_after_the_grace_period()
    {
        // SendGrid answers after the attempt timeout: the outcome is unknown (it did accept), so it is not resent at once.
        var visitor = NewVisitor();
        SendGrid.Given(MailTo(visitor)).InScenario(visitor).WillSetStateTo("fast").RespondWith(Accepted().WithDelay(TimeSpan.FromSeconds(3)));
        SendGrid.Given(MailTo(visitor)).InScenario(visitor).WhenStateIs("fast").RespondWith(Accepted());

        var id = await SubmitAsync(visitor);
        await WaitForStatusAsync(id, "Notified");

        var requests = RequestsMentioning(visitor);
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1] - requests[0] >= TimeSpan.FromSeconds(4), $"resent after {requests[1] - requests[0]}, before the grace period");

        // The unknown outcome held back only its own email: the specialist's went on at once.
        var offer = Assert.Single(RequestsMentioning($"New referral {id}"));
        Assert.True(offer < requests[1], "the specialist's email waited for the confirmation's grace period");
    }

    [Fact]
    public async Task A_timed_out_attempt_that_the_webhook_reports_is_not_sent_again()
    {
        var visitor = NewVisitor();
        SendGrid.Given(MailTo(visitor)).RespondWith(Accepted().WithDelay(TimeSpan.FromSeconds(3)));

        var id = await SubmitAsync(visitor);
        var referrals = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);
        var unknown = await Eventually.UntilAsync(
            async () => await referrals.GetEntityIfExistsAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation")) is { HasValue: true } row ? row.Value : null,
            r => r?.State == EmailLedgerEntity.Unknown, TimeSpan.FromSeconds(20), "the attempt's outcome to be unknown");
        unknown!.ProviderMessageId = "timed-out";

        // SendGrid reports the attempt (by the send id in its custom_args) within the grace period.
        var reported = await fixture.Http.SendAsync(SendGridEventTests.Post(SendGridEventTests.Events(unknown, (Guid.NewGuid().ToString("N"), "processed")), DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.OK, reported.StatusCode);
        await WaitForStatusAsync(id, "Notified");

        Assert.Single(RequestsMentioning(visitor));
        Assert.Equal(EmailLedgerEntity.Sent, (await referrals.GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation"))).Value.State);
    }

    [Fact]
    public async Task A_redelivered_message_after_a_successful_send_sends_nothing_again()
    {
        var visitor = NewVisitor();
        SendGrid.Given(MailTo(visitor)).RespondWith(Accepted());
        var id = await SubmitAsync(visitor);
        await WaitForStatusAsync(id, "Notified");
        Assert.Equal(2, RequestsMentioning(id).Count);

        var queue = fixture.Host.Services.GetRequiredKeyedService<QueueClient>(StorageNames.NotificationQueue);
        await queue.SendReferralAsync(id, CancellationToken.None);
        await queue.SendReferralAsync(id, CancellationToken.None);
        await Eventually.UntilAsync(async () => (await queue.PeekMessagesAsync(32)).Value.Length, n => n == 0, TimeSpan.FromSeconds(20), "the redeliveries to be handled");
        await Eventually.UntilAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, TimeSpan.FromSeconds(20), "the redeliveries to be deleted");

        Assert.Equal(2, RequestsMentioning(id).Count);
    }

    [Fact]
    public async Task Rate_limit_answers_never_open_the_circuit_but_server_errors_do()
    {
        var path = $"/breaker-429-{Guid.NewGuid():N}";
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddHttpClient("breaker-429").AddResilienceHandler("breaker-429", pipeline => SendGridResilience.Configure(pipeline, new SendGridResilienceOptions
        {
            MaxRetryAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(10), MinimumThroughput = 2, FailureRatio = 0.5,
            SamplingDuration = TimeSpan.FromSeconds(30), BreakDuration = TimeSpan.FromSeconds(30), MaxRateLimitWait = TimeSpan.Zero,
        }, TimeProvider.System));
        using var provider = services.BuildServiceProvider();
        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("breaker-429");

        // A reset an hour away is not waited for (MaxRateLimitWait), so each call is one 429 the breaker sees.
        var reset = TimeProvider.System.GetUtcNow().AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        SendGrid.Given(Request.Create().WithPath(path)).RespondWith(Response.Create().WithStatusCode(429).WithHeader("X-RateLimit-Reset", reset));
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, (await http.GetAsync(SendGrid.Url + path)).StatusCode);
        }

        Assert.Equal(6, SendGrid.LogEntries.Count(e => e.RequestMessage.Path == path)); // every one reached SendGrid: still closed

        // The same number of server errors opens it: the breaker still counts real failures.
        SendGrid.Given(Request.Create().WithPath(path)).AtPriority(0).RespondWith(Response.Create().WithStatusCode(500));
        await Assert.ThrowsAsync<BrokenCircuitException>(async () =>
        {
            for (var i = 0; i < 6; i++)
            {
                await http.GetAsync(SendGrid.Url + path);
            }
        });
    }

    [Fact]
    public async Task The_circuit_opens_after_repeated_failures_and_recovers_after_the_break()
    {
        var path = $"/breaker-{Guid.NewGuid():N}";
        SendGrid.Given(Request.Create().WithPath(path)).InScenario(path).WillSetStateTo("healthy").RespondWith(Response.Create().WithStatusCode(500));
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddHttpClient("breaker").AddResilienceHandler("breaker", pipeline => SendGridResilience.Configure(pipeline, new SendGridResilienceOptions
        {
            MaxRetryAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(10), MinimumThroughput = 2, FailureRatio = 0.5,
            SamplingDuration = TimeSpan.FromSeconds(30), BreakDuration = TimeSpan.FromSeconds(1),
        }, TimeProvider.System));
        using var provider = services.BuildServiceProvider();
        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("breaker");

        SendGrid.Given(Request.Create().WithPath(path)).RespondWith(Response.Create().WithStatusCode(500));
        Assert.Equal(HttpStatusCode.InternalServerError, (await http.GetAsync(SendGrid.Url + path)).StatusCode);
        var before = SendGrid.LogEntries.Count(e => e.RequestMessage.Path == path);
        await Assert.ThrowsAsync<BrokenCircuitException>(() => http.GetAsync(SendGrid.Url + path));
        Assert.Equal(before, SendGrid.LogEntries.Count(e => e.RequestMessage.Path == path)); // refused without calling out

        SendGrid.Given(Request.Create().WithPath(path)).AtPriority(0).RespondWith(Response.Create().WithStatusCode(202));
        var recovered = await Eventually.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(SendGrid.Url + path)).StatusCode;
            }
            catch (BrokenCircuitException)
            {
                return HttpStatusCode.ServiceUnavailable;
            }
        }, s => s == HttpStatusCode.Accepted, TimeSpan.FromSeconds(10), "the circuit to close again");
        Assert.Equal(HttpStatusCode.Accepted, recovered);
    }

}
