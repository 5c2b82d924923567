using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Referrals.Functions.Operations;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The anonymous health answer: ok, or degraded when storage does not answer or parked poison waits too long.</summary>
[Collection(PipelineCollection.Name)]
public class HealthTests(PipelineFixture fixture)
{
    [Fact]
    public async Task Without_a_key_it_answers_ok_and_nothing_more()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Http.BaseAddress };

        var response = await anonymous.GetAsync("/api/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_message_parked_longer_than_the_threshold_makes_it_degraded_until_an_operator_deals_with_it()
    {
        var parked = new TableClient(fixture.Azurite.ConnectionString, StorageNames.PoisonTable);
        await parked.CreateIfNotExistsAsync();
        var old = new TableEntity(StorageNames.NotificationQueue, $"health-{Guid.NewGuid():N}") { ["Body"] = "{}", ["ParkedAt"] = DateTimeOffset.UtcNow.AddHours(-2) };
        await parked.AddEntityAsync(old);
        try
        {
            var degraded = await fixture.Http.GetAsync("/api/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, degraded.StatusCode);
            Assert.Equal("degraded", await degraded.Content.ReadAsStringAsync());
        }
        finally
        {
            await parked.DeleteEntityAsync(old.PartitionKey, old.RowKey);
        }

        Assert.Equal(HttpStatusCode.OK, (await fixture.Http.GetAsync("/api/health")).StatusCode);
    }

    [Fact]
    public async Task Storage_that_does_not_answer_makes_it_degraded_within_the_timeout()
    {
        // Nothing listens on this port: every storage request fails or times out.
        const string nowhere = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;";
        var retryless = new TableClientOptions { Retry = { MaxRetries = 0 } };
        var health = new GetHealth(
            new TableClient(nowhere, StorageNames.ReferralsTable, retryless),
            new TableClient(nowhere, StorageNames.PoisonTable, retryless),
            new QueueServiceClient(nowhere, new QueueClientOptions { Retry = { MaxRetries = 0 } }),
            Options.Create(new HealthOptions { Timeout = TimeSpan.FromSeconds(3) }),
            TimeProvider.System,
            NullLogger<GetHealth>.Instance);
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();

        var started = DateTimeOffset.UtcNow;
        await (await health.Run(context.Request, CancellationToken.None)).ExecuteAsync(context);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(10), "the answer waited longer than the timeout");
        context.Response.Body.Position = 0;
        Assert.Equal("degraded", await new StreamReader(context.Response.Body).ReadToEndAsync());
    }
}
