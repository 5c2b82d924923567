using System.Globalization;
using Microsoft.Azure.Functions.Worker;
using NCrontab;
using Referrals.DevHost.Functions;
using Referrals.Functions.Storage;

namespace Referrals.DevHost.Timers;

/// <summary>
/// Runs each timerTrigger on its schedule: six-field NCrontab expressions (seconds first) or a TimeSpan, in UTC as on
/// Azure. As the host's TimerListener (azure-webjobs-sdk-extensions src/WebJobs.Extensions/Extensions/Timers/Listener/
/// TimerListener.cs): an occurrence missed while stopped runs at start with IsPastDue (its schedule status is kept in
/// <see cref="ScheduleStatusStore"/>); otherwise runOnStartup invokes once at start. An invocation never overlaps the next.
/// </summary>
public sealed partial class TimerTriggerService(
    IReadOnlyList<FunctionInvoker> invokers,
    IConfiguration configuration,
    IServiceScopeFactory scopes,
    TimeProvider clock,
    ILogger<TimerTriggerService> logger,
    ScheduleStatusStore? statuses = null) : BackgroundService
{
    public static Func<DateTime, DateTime> ParseSchedule(string schedule)
    {
        if (TimeSpan.TryParse(schedule, CultureInfo.InvariantCulture, out var interval) && !schedule.Contains(' ', StringComparison.Ordinal))
        {
            return last => last + interval;
        }

        var cron = CrontabSchedule.Parse(schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        return cron.GetNextOccurrence;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(invokers
            .Where(i => string.Equals(i.Metadata.Trigger.Type, "timerTrigger", StringComparison.OrdinalIgnoreCase))
            .Select(i => Task.Run(() => RunAsync(i, stoppingToken), CancellationToken.None)));

    private async Task RunAsync(FunctionInvoker invoker, CancellationToken stopping)
    {
        var trigger = invoker.Metadata.Trigger;
        var next = ParseSchedule(SettingNames.Resolve(trigger.Get("schedule")!, configuration));
        var last = clock.GetUtcNow().UtcDateTime;
        var name = invoker.Metadata.Name;

        // ScheduleMonitor.CheckPastDueAsync: past due when the recorded next occurrence has gone by. It wins over
        // runOnStartup, as in TimerListener.StartAsync.
        var status = await StatusOrNullAsync(name, stopping);
        if (status is not null && last > status.Next)
        {
            LogPastDue(name, status.Next);
            await InvokeAsync(invoker, last, next(last), stopping, isPastDue: true);
        }
        else if (bool.TryParse(trigger.Get("runOnStartup"), out var runOnStartup) && runOnStartup)
        {
            await InvokeAsync(invoker, last, next(last), stopping);
        }
        else if (status is null && statuses is not null)
        {
            await WriteStatusAsync(name, new ScheduleStatus { Last = default, Next = next(last), LastUpdated = last }, stopping);
        }

        while (!stopping.IsCancellationRequested)
        {
            var due = next(clock.GetUtcNow().UtcDateTime);
            try
            {
                var wait = due - clock.GetUtcNow().UtcDateTime;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, clock, stopping);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await InvokeAsync(invoker, last, next(due), stopping);
            last = due;
        }
    }

    private async Task InvokeAsync(FunctionInvoker invoker, DateTime last, DateTime next, CancellationToken stopping, bool isPastDue = false)
    {
        var timer = new TimerInfo
        {
            ScheduleStatus = new ScheduleStatus { Last = last, Next = next, LastUpdated = clock.GetUtcNow().UtcDateTime },
            IsPastDue = isPastDue,
        };
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await invoker.InvokeAsync(scope.ServiceProvider, parameter =>
                parameter.ParameterType == typeof(TimerInfo) ? timer
                : parameter.ParameterType == typeof(CancellationToken) ? stopping
                : parameter.ParameterType == typeof(FunctionContext) ? new DevHostFunctionContext(invoker.Metadata.Name, scope.ServiceProvider, stopping)
                : throw new InvalidOperationException($"Function {invoker.Metadata.Name}: the DevHost cannot bind parameter '{parameter.Name}' of a timer trigger."));
            LogRan(invoker.Metadata.Name, next);
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            // A failed timer run is logged and the schedule goes on, as in the host.
            LogFailed(e, invoker.Metadata.Name);
        }

        // As TimerListener.InvokeJobFunction: the status is recorded after every invocation, failed or not.
        if (statuses is not null && !stopping.IsCancellationRequested)
        {
            await WriteStatusAsync(invoker.Metadata.Name, timer.ScheduleStatus, CancellationToken.None);
        }
    }

    /// <summary>Storage away at start: no status is known, so no past-due run (as a host with no status blob).</summary>
    private async Task<ScheduleStatus?> StatusOrNullAsync(string name, CancellationToken stopping)
    {
        try
        {
            return statuses is null ? null : await statuses.ReadAsync(name, stopping);
        }
        catch (Exception e) when (StorageOutage.IsTransient(e) && !stopping.IsCancellationRequested)
        {
            LogStatusUnavailable(name, e.GetType().Name);
            return null;
        }
    }

    /// <summary>Storage away: the schedule goes on and the status is written after the next run, never a crash.</summary>
    private async Task WriteStatusAsync(string name, ScheduleStatus status, CancellationToken cancellationToken)
    {
        try
        {
            await statuses!.WriteAsync(name, status, cancellationToken);
        }
        catch (Exception e) when (StorageOutage.IsTransient(e))
        {
            LogStatusUnavailable(name, e.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer {FunctionName}: its schedule status could not be read or written ({Error}); the schedule goes on")]
    private partial void LogStatusUnavailable(string functionName, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer {FunctionName} is past due (missed {Missed:u}); running it now")]
    private partial void LogPastDue(string functionName, DateTime missed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Timer {FunctionName} ran; next run at {Next:u}")]
    private partial void LogRan(string functionName, DateTime next);

    [LoggerMessage(Level = LogLevel.Error, Message = "Timer {FunctionName} failed")]
    private partial void LogFailed(Exception exception, string functionName);
}
