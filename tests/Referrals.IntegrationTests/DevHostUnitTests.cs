using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Http;
using Referrals.DevHost.Queues;
using Referrals.DevHost.Timers;

namespace Referrals.IntegrationTests;

/// <summary>DevHost rules that need no storage: host.json defaults, backoff arithmetic, keys, timer schedules.</summary>
public class DevHostUnitTests
{
    [Fact]
    public void Host_json_defaults_are_the_functions_hosts()
    {
        var settings = FunctionsApp.ReadHostSettings(new JsonObject(), processorCount: 4);

        Assert.Equal("api", settings.RoutePrefix);
        Assert.Equal(new QueueSettings(16, 32, TimeSpan.FromMinutes(1), TimeSpan.Zero, 5, true), settings.Queues);
    }

    [Fact]
    public void Host_json_queue_settings_are_read_and_new_batch_threshold_follows_batch_size()
    {
        var hostJson = JsonNode.Parse("""
            { "version": "2.0", "extensions": { "http": { "routePrefix": "" },
              "queues": { "batchSize": 8, "maxPollingInterval": "00:00:02", "visibilityTimeout": "00:00:30", "maxDequeueCount": 3, "messageEncoding": "none" } } }
            """)!.AsObject();

        var settings = FunctionsApp.ReadHostSettings(hostJson, processorCount: 2);

        Assert.Equal("", settings.RoutePrefix);
        Assert.Equal(new QueueSettings(8, 8, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), 3, false), settings.Queues);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    public void Batch_sizes_outside_1_to_32_are_refused(int batchSize)
    {
        var hostJson = new JsonObject { ["extensions"] = new JsonObject { ["queues"] = new JsonObject { ["batchSize"] = batchSize } } };

        Assert.Throws<InvalidOperationException>(() => FunctionsApp.ReadHostSettings(hostJson, 2));
    }

    [Fact]
    public void Backoff_grows_with_jitter_from_100_ms_caps_at_the_maximum_and_resets_on_success()
    {
        var backoff = new RandomizedExponentialBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), new Random(7));

        var delays = Enumerable.Range(0, 8).Select(_ => backoff.GetNextDelay(executionSucceeded: false).TotalMilliseconds).ToList();

        Assert.Equal(100, delays[0]);
        Assert.InRange(delays[1], 100 + 80, 100 + 120);   // + 1 × 100 ms × U(0.8, 1.2)
        Assert.InRange(delays[2], 100 + 160, 100 + 240);  // + 2 × 100 ms × U(0.8, 1.2)
        Assert.InRange(delays[3], 100 + 320, 100 + 480);
        Assert.InRange(delays[4], 100 + 640, 1000);
        Assert.Equal(1000, delays[^1]);
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.GetNextDelay(executionSucceeded: true));
        Assert.InRange(backoff.GetNextDelay(executionSucceeded: false).TotalMilliseconds, 100 + 80, 100 + 120);
    }

    [Fact]
    public void Key_rules_follow_the_functions_host()
    {
        var keys = new HttpKeyOptions
        {
            Master = "master",
            Host = new() { ["default"] = "host" },
            Functions = new() { ["A"] = new() { ["default"] = "a-key" } },
        };

        Assert.True(HttpKeyCheck.IsAuthorized(AuthLevel.Anonymous, "A", null, keys));
        Assert.True(HttpKeyCheck.IsAuthorized(AuthLevel.Function, "A", "a-key", keys));
        Assert.True(HttpKeyCheck.IsAuthorized(AuthLevel.Function, "A", "host", keys));
        Assert.True(HttpKeyCheck.IsAuthorized(AuthLevel.Function, "A", "master", keys));
        Assert.False(HttpKeyCheck.IsAuthorized(AuthLevel.Function, "B", "a-key", keys));
        Assert.False(HttpKeyCheck.IsAuthorized(AuthLevel.Function, "A", null, keys));
        Assert.True(HttpKeyCheck.IsAuthorized(AuthLevel.Admin, "A", "master", keys));
        Assert.False(HttpKeyCheck.IsAuthorized(AuthLevel.Admin, "A", "host", keys));
        Assert.False(HttpKeyCheck.IsAuthorized(AuthLevel.Admin, "A", "a-key", keys));
    }

    [Fact]
    public void Schedules_are_six_field_crontab_with_seconds_or_a_timespan()
    {
        var start = new DateTime(2026, 11, 28, 10, 2, 30, DateTimeKind.Utc);

        Assert.Equal(new DateTime(2026, 11, 28, 10, 5, 0, DateTimeKind.Utc), TimerTriggerService.ParseSchedule("0 */5 * * * *")(start));
        Assert.Equal(new DateTime(2026, 11, 28, 10, 2, 45, DateTimeKind.Utc), TimerTriggerService.ParseSchedule("*/15 * * * * *")(start));
        Assert.Equal(start.AddMinutes(10), TimerTriggerService.ParseSchedule("00:10:00")(start));
        Assert.ThrowsAny<Exception>(() => TimerTriggerService.ParseSchedule("*/5 * * * *")(start));
    }

    [Fact]
    public async Task A_timer_runs_on_startup_when_asked_and_then_at_each_scheduled_time()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 2, 30, TimeSpan.Zero));
        var services = new ServiceCollection().AddSingleton<TimeProvider>(clock).BuildServiceProvider();
        var metadata = new FunctionMetadata("ProbeTimer", Path.GetFileName(typeof(ProbeTimer).Assembly.Location), $"{typeof(ProbeTimer).FullName}.{nameof(ProbeTimer.Run)}",
            [new FunctionBinding("timer", "timerTrigger", "In", new JsonObject { ["schedule"] = "0 */5 * * * *", ["runOnStartup"] = true })]);
        var invoker = FunctionInvoker.Create(metadata, AppContext.BaseDirectory);
        ProbeTimer.Runs.Clear();
        var service = new TimerTriggerService([invoker], new ConfigurationBuilder().Build(), services.GetRequiredService<IServiceScopeFactory>(), clock, NullLogger<TimerTriggerService>.Instance);

        await service.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(() => Task.FromResult(ProbeTimer.Runs.Count), n => n == 1, TimeSpan.FromSeconds(5), "the startup run");
        while (ProbeTimer.Runs.Count < 3 && clock.GetUtcNow() < new DateTimeOffset(2026, 11, 28, 10, 20, 0, TimeSpan.Zero))
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
        }

        await service.StopAsync(CancellationToken.None);

        var runs = ProbeTimer.Runs.ToArray();
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 10, 2, 30, TimeSpan.Zero), runs[0].At);
        Assert.InRange(runs[1].At, new DateTimeOffset(2026, 11, 28, 10, 5, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 28, 10, 5, 1, TimeSpan.Zero));
        Assert.InRange(runs[2].At, new DateTimeOffset(2026, 11, 28, 10, 10, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 28, 10, 10, 1, TimeSpan.Zero));
        Assert.Equal(new DateTime(2026, 11, 28, 10, 10, 0, DateTimeKind.Utc), runs[1].Info.ScheduleStatus!.Next);
    }
}

/// <summary>A timer function for the DevHost's timer tests, written as any function class is.</summary>
public sealed class ProbeTimer(TimeProvider clock)
{
    public static readonly ConcurrentQueue<(DateTimeOffset At, TimerInfo Info)> Runs = new();

    [Function(nameof(ProbeTimer))]
    public void Run([TimerTrigger("0 */5 * * * *", RunOnStartup = true)] TimerInfo timer) => Runs.Enqueue((clock.GetUtcNow(), timer));
}
