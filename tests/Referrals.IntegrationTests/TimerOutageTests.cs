using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Storage;
using Referrals.DevHost.Timers;

namespace Referrals.IntegrationTests;

/// <summary>Timers while storage is unreachable: the schedule goes on and the DevHost does not stop.</summary>
public class TimerOutageTests
{
    [Fact]
    public async Task A_timer_keeps_its_schedule_when_its_status_cannot_be_read_or_written()
    {
        const string name = "TimerOutageProbe";
        var start = new DateTimeOffset(2026, 11, 28, 10, 2, 30, TimeSpan.Zero);
        var clock = new TimerCountingClock(start);
        // Nothing listens on these ports: every status call is refused, as with Azurite stopped.
        var store = new ScheduleStatusStore(new TableClient(new StorageEndpoints(FreePort.Next(), FreePort.Next(), FreePort.Next()).ConnectionString, "timers",
            new TableClientOptions { Retry = { MaxRetries = 0 } }));
        var services = new ServiceCollection().AddSingleton<TimeProvider>(clock).AddSingleton(new PastDueProbe.Log(name)).BuildServiceProvider();
        // The probe's own function name; its runs are kept under this test's name.
        var metadata = new FunctionMetadata(nameof(PastDueProbe), Path.GetFileName(typeof(PastDueProbe).Assembly.Location), $"{typeof(PastDueProbe).FullName}.{nameof(PastDueProbe.Run)}",
            [new FunctionBinding("timer", "timerTrigger", "In", new JsonObject { ["schedule"] = "0 */5 * * * *", ["runOnStartup"] = true })]);
        PastDueProbe.Runs[name] = new ConcurrentQueue<(DateTimeOffset, TimerInfo)>();
        var service = new TimerTriggerService([FunctionInvoker.Create(metadata, AppContext.BaseDirectory)], new ConfigurationBuilder().Build(),
            services.GetRequiredService<IServiceScopeFactory>(), clock, NullLogger<TimerTriggerService>.Instance, store);

        await service.StartAsync(CancellationToken.None);
        await Eventually.UntilAsync(() => Task.FromResult(PastDueProbe.Runs[name].Count), n => n >= 1 || service.ExecuteTask!.IsCompleted, TimeSpan.FromSeconds(20), "the start-up run");
        // Advance only once the service waits on the clock for its next run, or the advance would pass unseen.
        await Eventually.UntilAsync(() => Task.FromResult(clock.TimersCreated), n => n >= 1 || service.ExecuteTask!.IsCompleted, TimeSpan.FromSeconds(20), "the wait for the next run");
        clock.Advance(TimeSpan.FromMinutes(3));
        await Eventually.UntilAsync(() => Task.FromResult(PastDueProbe.Runs[name].Count), n => n >= 2 || service.ExecuteTask!.IsCompleted, TimeSpan.FromSeconds(20), "the scheduled run");

        Assert.False(service.ExecuteTask!.IsFaulted, service.ExecuteTask.Exception?.ToString());
        await service.StopAsync(CancellationToken.None);
        Assert.Equal(2, PastDueProbe.Runs[name].Count);
    }
}

/// <summary>A fake clock that counts the timers made on it (Task.Delay on a TimeProvider makes one), so a test can tell when something waits on it.</summary>
internal sealed class TimerCountingClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private int timers;

    public int TimersCreated => Volatile.Read(ref timers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref timers);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
