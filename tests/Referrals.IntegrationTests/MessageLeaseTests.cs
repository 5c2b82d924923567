using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Referrals.DevHost;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Queues;

namespace Referrals.IntegrationTests;

/// <summary>
/// The lease a queue trigger holds while its function runs: 10 minutes as in the Functions host by default, shortened
/// only by DevHost:MessageLease (chaos runs), and renewed at half-time either way.
/// </summary>
[Collection(PipelineCollection.Name)]
public class MessageLeaseTests(PipelineFixture fixture)
{
    private static readonly QueueSettings Fast = new(
        BatchSize: 1, NewBatchThreshold: 0, MaxPollingInterval: TimeSpan.FromMilliseconds(200),
        VisibilityTimeout: TimeSpan.Zero, MaxDequeueCount: 5, Base64Encoding: true);

    private QueueClient NewQueue()
    {
        var client = new QueueClient(fixture.Azurite.ConnectionString, "lease-" + Guid.NewGuid().ToString("N")[..20],
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        client.Create();
        return client;
    }

    /// <summary>Runs the listener until one message has been handled, returning the message as the function saw it.</summary>
    private async Task<QueueMessage> HandleOneAsync(QueueClient queue, TimeSpan? lease)
    {
        var seen = new TaskCompletionSource<QueueMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = new QueueListener(fixture.Azurite.ConnectionString, queue.Name, Fast,
            (m, _) => { seen.TrySetResult(m); return Task.CompletedTask; }, NullLogger.Instance, new Random(7), TimeSpan.FromSeconds(5), messageLease: lease);
        await queue.SendMessageAsync("lease");
        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);
        try
        {
            return await seen.Task.WaitAsync(TimeSpan.FromSeconds(15));
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }
    }

    [Fact]
    public async Task By_default_a_received_message_is_leased_for_ten_minutes_as_in_the_Functions_host()
    {
        var message = await HandleOneAsync(NewQueue(), lease: null);

        // Received moments after it was sent, so it stays hidden for the lease measured from about its insertion.
        var hidden = message.NextVisibleOn!.Value - message.InsertedOn!.Value;
        Assert.InRange(hidden, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_DevHost_takes_the_ten_minute_lease_unless_DevHost_MessageLease_shortens_it()
    {
        var services = fixture.Host.Services;
        Assert.All(services.GetRequiredService<QueueTriggerService>().Listeners, l => Assert.Equal(TimeSpan.FromMinutes(10), l.MessageLease));

        var configuration = new ConfigurationBuilder()
            .AddConfiguration(services.GetRequiredService<IConfiguration>())
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DevHost:MessageLease"] = "00:00:07" })
            .Build();
        var shortened = new QueueTriggerService(
            services.GetRequiredService<FunctionsApp>(), services.GetRequiredService<IReadOnlyList<FunctionInvoker>>(),
            configuration, services.GetRequiredService<IServiceScopeFactory>(), services.GetRequiredService<ILoggerFactory>());

        Assert.NotEmpty(shortened.Listeners);
        Assert.All(shortened.Listeners, l => Assert.Equal(TimeSpan.FromSeconds(7), l.MessageLease));
        shortened.Dispose();
    }

    [Fact]
    public async Task A_shortened_lease_applies_to_received_messages()
    {
        var message = await HandleOneAsync(NewQueue(), lease: TimeSpan.FromSeconds(3));

        var hidden = message.NextVisibleOn!.Value - message.InsertedOn!.Value;
        Assert.InRange(hidden, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task A_shortened_lease_is_renewed_while_the_function_runs_so_no_other_receiver_gets_the_message()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("long");
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var runs = 0;
        var listener = new QueueListener(fixture.Azurite.ConnectionString, queue.Name, Fast, async (_, _) =>
        {
            Interlocked.Increment(ref runs);
            started.TrySetResult();
            await release.Task;
        }, NullLogger.Instance, new Random(7), TimeSpan.FromSeconds(5), messageLease: TimeSpan.FromSeconds(2));

        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(15));

        // Three leases long: without renewal the message would be visible again after 2 s.
        var competitor = new QueueClient(fixture.Azurite.ConnectionString, queue.Name);
        var stolen = 0;
        for (var i = 0; i < 12; i++)
        {
            await Task.Delay(500);
            stolen += (await competitor.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value.Length;
        }

        release.SetResult();
        await Eventually.UntilAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, TimeSpan.FromSeconds(10), "the message to be deleted");
        await stop.CancelAsync();
        await run;

        Assert.Equal(0, stolen);
        Assert.Equal(1, runs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(500)]
    [InlineData(1500)]
    public void A_lease_that_storage_would_refuse_is_refused_when_the_listener_is_made(int milliseconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new QueueListener(fixture.Azurite.ConnectionString, "refused", Fast,
            (_, _) => Task.CompletedTask, NullLogger.Instance, messageLease: TimeSpan.FromMilliseconds(milliseconds)));
    }
}
