using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Queues;

namespace Referrals.IntegrationTests;

/// <summary>The DevHost's queue trigger against a real Azurite, checked against the Functions host's rules.</summary>
[Collection(PipelineCollection.Name)]
public class QueueListenerTests(PipelineFixture fixture)
{
    private static readonly QueueSettings Fast = new(
        BatchSize: 16, NewBatchThreshold: 8, MaxPollingInterval: TimeSpan.FromMilliseconds(500),
        VisibilityTimeout: TimeSpan.Zero, MaxDequeueCount: 5, Base64Encoding: true);

    private QueueClient NewQueue(bool base64 = true)
    {
        var client = new QueueClient(fixture.Azurite.ConnectionString, "test-" + Guid.NewGuid().ToString("N")[..20],
            new QueueClientOptions { MessageEncoding = base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None });
        client.Create();
        return client;
    }

    private QueueClient PoisonOf(QueueClient queue) =>
        new(fixture.Azurite.ConnectionString, queue.Name + "-poison", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

    private async Task RunUntilAsync(QueueListener listener, Func<Task<bool>> done, TimeSpan timeout)
    {
        using var stop = new CancellationTokenSource();
        var run = listener.RunAsync(stop.Token);
        try
        {
            await Eventually.UntilAsync(done, d => d, timeout, "the listener to reach the expected state");
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }
    }

    private QueueListener Listener(QueueClient queue, QueueSettings settings, Func<QueueMessage, CancellationToken, Task> process, ILogger? logger = null) =>
        new(fixture.Azurite.ConnectionString, queue.Name, settings, process, logger ?? NullLogger.Instance, new Random(42), TimeSpan.FromSeconds(5));

    private static async Task<int> DepthAsync(QueueClient queue) =>
        await queue.ExistsAsync() ? (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount : 0;

    [Fact]
    public async Task A_message_whose_function_succeeds_is_processed_once_and_deleted()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("hello");
        var bodies = new ConcurrentBag<string>();

        await RunUntilAsync(Listener(queue, Fast, (m, _) => { bodies.Add(m.Body.ToString()); return Task.CompletedTask; }),
            async () => !bodies.IsEmpty && await DepthAsync(queue) == 0, TimeSpan.FromSeconds(10));

        Assert.Equal(["hello"], bodies);
        Assert.False(await PoisonOf(queue).ExistsAsync());
    }

    [Fact]
    public async Task A_message_whose_function_always_fails_goes_to_poison_after_exactly_five_dequeues_with_its_body_intact()
    {
        var queue = NewQueue();
        const string body = "{\"referralId\":\"R-ABCDE-12345\",\"note\":\"ünïcode ✓\"}";
        await queue.SendMessageAsync(body);
        var dequeueCounts = new ConcurrentQueue<long>();
        var poison = PoisonOf(queue);

        await RunUntilAsync(
            Listener(queue, Fast, (m, _) =>
            {
                dequeueCounts.Enqueue(m.DequeueCount);
                throw new InvalidOperationException("function failed");
            }),
            async () => await DepthAsync(poison) == 1 && await DepthAsync(queue) == 0,
            TimeSpan.FromSeconds(20));

        Assert.Equal([1L, 2L, 3L, 4L, 5L], dequeueCounts);
        var poisoned = (await poison.ReceiveMessageAsync()).Value;
        Assert.Equal(body, poisoned.Body.ToString());
    }

    [Fact]
    public async Task A_message_already_dequeued_more_than_the_maximum_goes_straight_to_poison_without_running()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("old");
        // Take the message five times without completing it, as crashed hosts would.
        for (var i = 0; i < 5; i++)
        {
            var taken = await Eventually.UntilAsync(async () => (await queue.ReceiveMessageAsync()).Value, m => m is not null, TimeSpan.FromSeconds(5), "the message to be visible");
            await queue.UpdateMessageAsync(taken.MessageId, taken.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        }

        var invoked = 0;
        var poison = PoisonOf(queue);
        await RunUntilAsync(Listener(queue, Fast, (_, _) => { Interlocked.Increment(ref invoked); return Task.CompletedTask; }),
            async () => await DepthAsync(poison) == 1, TimeSpan.FromSeconds(10));

        Assert.Equal(0, invoked);
        Assert.Equal("old", (await poison.ReceiveMessageAsync()).Value.Body.ToString());
    }

    [Fact]
    public async Task A_failed_message_stays_invisible_for_the_visibility_timeout()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("retry me");
        var attempts = new ConcurrentQueue<long>();
        var settings = Fast with { VisibilityTimeout = TimeSpan.FromSeconds(2) };

        await RunUntilAsync(
            Listener(queue, settings, (_, _) =>
            {
                attempts.Enqueue(Stopwatch.GetTimestamp());
                return attempts.Count == 1 ? throw new InvalidOperationException("first attempt fails") : Task.CompletedTask;
            }),
            async () => attempts.Count >= 2 && await DepthAsync(queue) == 0,
            TimeSpan.FromSeconds(15));

        var stamps = attempts.ToArray();
        var gap = Stopwatch.GetElapsedTime(stamps[0], stamps[1]);
        Assert.True(gap >= TimeSpan.FromSeconds(1.9), $"retried after {gap}, before the 2 s visibility timeout");
        Assert.Equal(2, stamps.Length);
    }

    [Fact]
    public async Task A_body_that_is_not_base64_is_moved_to_poison_as_it_is_without_running()
    {
        var raw = NewQueue(base64: false);
        await raw.SendMessageAsync("not base64 at all!");
        var invoked = 0;
        var poison = new QueueClient(fixture.Azurite.ConnectionString, raw.Name + "-poison");

        await RunUntilAsync(Listener(raw, Fast, (_, _) => { Interlocked.Increment(ref invoked); return Task.CompletedTask; }),
            async () => await DepthAsync(poison) == 1 && await DepthAsync(raw) == 0, TimeSpan.FromSeconds(10));

        Assert.Equal(0, invoked);
        Assert.Equal("not base64 at all!", (await poison.ReceiveMessageAsync()).Value.Body.ToString());
    }

    [Fact]
    public async Task Polling_backs_off_exponentially_while_idle_up_to_the_maximum_and_resets_when_a_message_arrives()
    {
        var queue = NewQueue();
        var collector = new FakeLogCollector();
        var logger = new FakeLogger(collector);
        var settings = Fast with { MaxPollingInterval = TimeSpan.FromMilliseconds(800) };
        var processed = 0;
        using var stop = new CancellationTokenSource();
        var run = Listener(queue, settings, (_, _) => { Interlocked.Increment(ref processed); return Task.CompletedTask; }, logger).RunAsync(stop.Token);

        await Eventually.UntilAsync(() => Task.FromResult(Delays(collector).Count(d => d == settings.MaxPollingInterval)), n => n >= 2, TimeSpan.FromSeconds(15), "polling to reach the maximum interval");
        await queue.SendMessageAsync("wake up");
        await Eventually.UntilAsync(() => Task.FromResult(processed), n => n == 1, TimeSpan.FromSeconds(10), "the message to be processed");
        var beforeReset = Delays(collector).Count;
        await Eventually.UntilAsync(() => Task.FromResult(Delays(collector).Count), n => n > beforeReset, TimeSpan.FromSeconds(5), "the next idle poll");
        await stop.CancelAsync();
        await run;

        var delays = Delays(collector);
        var firstMax = delays.IndexOf(settings.MaxPollingInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(100), delays[0]);
        for (var i = 1; i < firstMax; i++)
        {
            Assert.True(delays[i] > delays[i - 1], $"delay {i} ({delays[i]}) did not grow from {delays[i - 1]}");
        }

        Assert.All(delays, d => Assert.True(d <= settings.MaxPollingInterval));
        // Once at the maximum, only a found message changes the delay: the first idle poll after it waits the minimum again.
        var afterMessage = delays.Skip(firstMax).First(d => d != settings.MaxPollingInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(100), afterMessage);
    }

    [Fact]
    public async Task No_more_than_batch_size_plus_new_batch_threshold_run_at_once()
    {
        var queue = NewQueue();
        for (var i = 0; i < 12; i++)
        {
            await queue.SendMessageAsync($"m{i}");
        }

        var settings = Fast with { BatchSize = 4, NewBatchThreshold = 2 };
        var running = 0;
        var maxRunning = 0;
        var completed = 0;
        var gate = new SemaphoreSlim(0);
        await RunUntilAsync(
            Listener(queue, settings, async (_, ct) =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref maxRunning, now);
                await gate.WaitAsync(ct);
                Interlocked.Decrement(ref running);
                Interlocked.Increment(ref completed);
            }),
            async () =>
            {
                // Let one through at a time, so the listener refills each time it drops to the threshold.
                if (Volatile.Read(ref running) > 0)
                {
                    gate.Release();
                }

                await Task.Delay(50);
                return Volatile.Read(ref completed) == 12;
            },
            TimeSpan.FromSeconds(30));

        Assert.InRange(maxRunning, 5, settings.BatchSize + settings.NewBatchThreshold);
    }

    [Fact]
    public async Task Stopping_lets_an_in_flight_invocation_finish_and_leaves_unprocessed_messages_in_the_queue()
    {
        var queue = NewQueue();
        await queue.SendMessageAsync("first");
        var started = new TaskCompletionSource();
        var finished = 0;
        var settings = Fast with { BatchSize = 1, NewBatchThreshold = 0 };
        using var stop = new CancellationTokenSource();
        var run = Listener(queue, settings, async (_, _) =>
        {
            started.TrySetResult();
            await Task.Delay(500, CancellationToken.None);
            Interlocked.Increment(ref finished);
        }).RunAsync(stop.Token);

        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await queue.SendMessageAsync("second");
        await stop.CancelAsync();
        await run;

        Assert.Equal(1, finished);
        var left = (await queue.PeekMessagesAsync(10)).Value;
        Assert.Equal(["second"], left.Select(m => m.Body.ToString()));
    }

    private static List<TimeSpan> Delays(FakeLogCollector collector) =>
        collector.GetSnapshot()
            .Where(r => r.Message.Contains("next poll in", StringComparison.Ordinal))
            .Select(r => TimeSpan.Parse(r.StructuredState!.Single(p => p.Key == "Delay").Value!, System.Globalization.CultureInfo.InvariantCulture))
            .ToList();

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
