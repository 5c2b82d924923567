using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Timers;

namespace Referrals.IntegrationTests;

/// <summary>Timers as the host's schedule monitor runs them: status kept in the storage account, missed runs past due.</summary>
[Collection(PipelineCollection.Name)]
public class DevHostTimerFidelityTests(PipelineFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 28, 10, 2, 30, TimeSpan.Zero);

    private ScheduleStatusStore NewStore() =>
        new(new TableClient(fixture.Azurite.ConnectionString, "timers" + Guid.NewGuid().ToString("N")[..12]));

    private static async Task<IReadOnlyList<(DateTimeOffset At, TimerInfo Info)>> RunAsync(string name, ScheduleStatusStore store, bool runOnStartup, DateTimeOffset until)
    {
        var clock = new FakeTimeProvider(Start);
        var services = new ServiceCollection().AddSingleton<TimeProvider>(clock).AddSingleton(new PastDueProbe.Log(name)).BuildServiceProvider();
        var metadata = new FunctionMetadata(name, Path.GetFileName(typeof(PastDueProbe).Assembly.Location), $"{typeof(PastDueProbe).FullName}.{nameof(PastDueProbe.Run)}",
            [new FunctionBinding("timer", "timerTrigger", "In", new JsonObject { ["schedule"] = "0 */5 * * * *", ["runOnStartup"] = runOnStartup })]);
        var invoker = FunctionInvoker.Create(metadata, AppContext.BaseDirectory);
        PastDueProbe.Runs[name] = new ConcurrentQueue<(DateTimeOffset, TimerInfo)>();
        var service = new TimerTriggerService([invoker], new ConfigurationBuilder().Build(), services.GetRequiredService<IServiceScopeFactory>(), clock,
            NullLogger<TimerTriggerService>.Instance, store);

        await service.StartAsync(CancellationToken.None);
        await Task.Delay(200);
        while (clock.GetUtcNow() < until)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
        }

        await Task.Delay(200);
        await service.StopAsync(CancellationToken.None);
        return PastDueProbe.Runs[name].ToArray();
    }

    [Fact]
    public async Task A_run_missed_while_stopped_runs_at_start_with_IsPastDue_and_later_runs_are_on_time()
    {
        var store = NewStore();
        const string name = nameof(PastDueProbe);
        await store.WriteAsync(name, new ScheduleStatus { Last = Start.UtcDateTime.AddMinutes(-7), Next = Start.UtcDateTime.AddMinutes(-2).AddSeconds(-30), LastUpdated = Start.UtcDateTime.AddMinutes(-7) }, CancellationToken.None);

        var runs = await RunAsync(name, store, runOnStartup: false, until: Start.AddMinutes(3));

        Assert.Equal(2, runs.Count);
        Assert.True(runs[0].Info.IsPastDue);
        Assert.Equal(Start, runs[0].At);
        Assert.False(runs[1].Info.IsPastDue);
        Assert.Equal(new DateTime(2026, 11, 28, 10, 10, 0, DateTimeKind.Utc), (await store.ReadAsync(name, CancellationToken.None))!.Next);
    }

    [Fact]
    public async Task With_no_missed_run_a_timer_without_runOnStartup_waits_for_its_schedule_and_the_status_is_recorded()
    {
        var store = NewStore();
        const string name = nameof(PastDueProbe);

        var runs = await RunAsync(name, store, runOnStartup: false, until: Start.AddMinutes(1));

        Assert.Empty(runs);
        Assert.Equal(new DateTime(2026, 11, 28, 10, 5, 0, DateTimeKind.Utc), (await store.ReadAsync(name, CancellationToken.None))!.Next);
    }
}

/// <summary>A timer function recording each run under the function name it was registered with.</summary>
public sealed class PastDueProbe(TimeProvider clock, PastDueProbe.Log log)
{
    public sealed record Log(string Name);

    public static readonly ConcurrentDictionary<string, ConcurrentQueue<(DateTimeOffset At, TimerInfo Info)>> Runs = new();

    [Function(nameof(PastDueProbe))]
    public void Run([TimerTrigger("0 */5 * * * *")] TimerInfo timer) => Runs[log.Name].Enqueue((clock.GetUtcNow(), timer));
}
