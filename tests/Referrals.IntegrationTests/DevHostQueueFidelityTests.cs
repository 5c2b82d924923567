using System.Diagnostics;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Referrals.DevHost.Queues;

namespace Referrals.IntegrationTests;

/// <summary>The DevHost's queue listener at stop and on poison queues, against a real Azurite, as the Functions host behaves.</summary>
[Collection(PipelineCollection.Name)]
public class DevHostQueueFidelityTests(PipelineFixture fixture)
{
    private static readonly Referrals.DevHost.Functions.QueueSettings Fast = new(
        BatchSize: 16, NewBatchThreshold: 8, MaxPollingInterval: TimeSpan.FromMilliseconds(500),
        VisibilityTimeout: TimeSpan.Zero, MaxDequeueCount: 5, Base64Encoding: true);

    private QueueClient NewQueue(string suffix = "")
    {
        var client = new QueueClient(fixture.Azurite.ConnectionString, "fid-" + Guid.NewGuid().ToString("N")[..20] + suffix,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        client.Create();
        return client;
    }

    private QueueClient PoisonOf(QueueClient queue) =>
        new(fixture.Azurite.ConnectionString, queue.Name + "-poison", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

    private QueueListener Listener(QueueClient queue, Referrals.DevHost.Functions.QueueSettings settings, Func<QueueMessage, CancellationToken, Task> process,
        ILogger? logger = null, TimeSpan? grace = null, bool drain = false) =>
        new(fixture.Azurite.ConnectionString, queue.Name, settings, process, logger ?? new FakeLogger(), new Random(42), grace ?? TimeSpan.FromSeconds(30), drain);

    private static async Task<int> DepthAsync(QueueClient queue) =>
        await queue.ExistsAsync() ? (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount : 0;

    [Fact]
    public async Task At_stop_the_invocation_token_is_signalled_at_once_and_a_cancelled_last_attempt_goes_to_poison()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("last attempt");
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = Listener(queue, Fast with { MaxDequeueCount = 1 }, async (_, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        });

        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stopping = Stopwatch.StartNew();
        await stop.CancelAsync();
        await run;

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stop took {stopping.Elapsed}: the token waited for the 30 s grace");
        Assert.Equal(1, await DepthAsync(PoisonOf(queue)));
        Assert.Equal("last attempt", (await PoisonOf(queue).ReceiveMessageAsync()).Value.Body.ToString());
        Assert.Equal(0, await DepthAsync(queue));
    }

    [Fact]
    public async Task A_cancelled_attempt_that_is_not_the_last_waits_out_the_visibility_timeout_like_any_failure()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("first attempt");
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = Listener(queue, Fast with { VisibilityTimeout = TimeSpan.FromMinutes(5) }, async (_, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        });

        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await run;

        Assert.Equal(1, await DepthAsync(queue));
        Assert.Empty((await queue.PeekMessagesAsync()).Value);   // not released at once: invisible for visibilityTimeout
        Assert.False(await PoisonOf(queue).ExistsAsync());
    }

    [Fact]
    public async Task In_drain_mode_an_in_flight_invocation_runs_to_completion_and_its_message_is_deleted()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("drain me");
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelledDuringRun = false;
        var listener = Listener(queue, Fast, async (_, token) =>
        {
            started.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            cancelledDuringRun = token.IsCancellationRequested;
        }, drain: true);

        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await run;

        Assert.False(cancelledDuringRun);
        Assert.Equal(0, await DepthAsync(queue));
        Assert.False(await PoisonOf(queue).ExistsAsync());
    }

    [Fact]
    public void The_drain_switch_is_the_hosts_setting()
    {
        var on = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["FUNCTIONS_ENABLE_DRAIN_ON_APP_STOPPING"] = "true" }).Build();

        Assert.Equal("FUNCTIONS_ENABLE_DRAIN_ON_APP_STOPPING", QueueTriggerService.DrainOnStopSetting);
        Assert.True(QueueTriggerService.DrainOnStop(on));
        Assert.False(QueueTriggerService.DrainOnStop(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()));
    }

    [Fact]
    public async Task A_message_dequeued_too_often_on_a_poison_queue_is_skipped_without_an_exception()
    {
        var poison = NewQueue("-poison");
        await poison.SendMessageAsync("dead letter");
        var taken = await Eventually.UntilAsync(async () => (await poison.ReceiveMessageAsync()).Value, m => m is not null, TimeSpan.FromSeconds(5), "the message");
        await poison.UpdateMessageAsync(taken.MessageId, taken.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        var invoked = 0;
        var logger = new FakeLogger();
        var listener = Listener(poison, Fast with { MaxDequeueCount = 1 }, (_, _) => { Interlocked.Increment(ref invoked); return Task.CompletedTask; }, logger);

        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);
        await Eventually.UntilAsync(async () => (await poison.PeekMessagesAsync()).Value.Length, n => n == 0, TimeSpan.FromSeconds(10), "the listener to take the message");
        await Eventually.UntilAsync(() => Task.FromResult(logger.Collector.GetSnapshot().Any(r => r.Message.Contains("skipped", StringComparison.Ordinal))), s => s, TimeSpan.FromSeconds(5), "the skip to be logged");
        await stop.CancelAsync();
        await run;   // an exception in processing would surface here

        Assert.Equal(0, invoked);
        Assert.Equal(1, await DepthAsync(poison));   // left invisible for its lease, as the host leaves it
        Assert.False(await PoisonOf(poison).ExistsAsync());
        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Exception is not null);
    }
}
