using System.Collections.Concurrent;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Testing;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Queues;

namespace Referrals.IntegrationTests;

/// <summary>The DevHost while its storage goes away and comes back: listeners back off and resume, nothing crashes.</summary>
public class StorageOutageTests
{
    private static readonly QueueSettings Fast = new(
        BatchSize: 4, NewBatchThreshold: 2, MaxPollingInterval: TimeSpan.FromMilliseconds(500),
        VisibilityTimeout: TimeSpan.Zero, MaxDequeueCount: 5, Base64Encoding: true);

    [Fact]
    public async Task A_queue_listener_backs_off_while_Azurite_is_down_and_resumes_when_it_is_back()
    {
        await using var azurite = await RestartableAzurite.StartAsync();
        var queue = new QueueClient(azurite.ConnectionString, "outage", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateAsync();
        var bodies = new ConcurrentQueue<string>();
        var collector = new FakeLogCollector();
        var listener = new QueueListener(azurite.ConnectionString, queue.Name, Fast,
            (m, _) => { bodies.Enqueue(m.Body.ToString()); return Task.CompletedTask; }, new FakeLogger(collector), new Random(3), TimeSpan.FromSeconds(5));
        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);

        await queue.SendMessageAsync("before");
        await Eventually.UntilAsync(() => Task.FromResult(bodies.Count), n => n == 1, TimeSpan.FromSeconds(15), "the first message");

        await azurite.StopAsync();
        // Long enough for the SDK's own retries to give up at least once (about 6 s).
        await Eventually.UntilAsync(() => Task.FromResult(collector.GetSnapshot().Any(r => r.Message.Contains("unreachable", StringComparison.Ordinal))),
            seen => seen || run.IsCompleted, TimeSpan.FromSeconds(30), "the listener to notice the outage");
        Assert.False(run.IsCompleted, run.Exception?.ToString() ?? "the listener stopped on its own");

        await azurite.StartAgainAsync();
        // A killed Azurite may lose what it had not yet flushed to disk (its LokiJS metadata saves on a timer), the
        // queue itself included; the listener must find it again either way.
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("after");
        await Eventually.UntilAsync(() => Task.FromResult(bodies.Count), n => n == 2 || run.IsCompleted, TimeSpan.FromSeconds(45), "the message sent after the restart");

        await stop.CancelAsync();
        await run;
        Assert.Equal(["before", "after"], bodies);
        Assert.Contains(collector.GetSnapshot(), r => r.Message.Contains("polling resumed", StringComparison.Ordinal));
    }
}
