using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Chaos;

/// <summary>
/// The Release DevHost as the chaos run's target: killed with SIGKILL and started again on the same port, so visitors
/// and the webhook keep one address. Each start writes its own output file (devhost-1.log, devhost-2.log, …).
/// </summary>
internal sealed class RestartingDevHost(string dll, IReadOnlyDictionary<string, string> settings, string work, TimeSpan startTimeout) : IAsyncDisposable
{
    private DevHostServer? current;
    private int starts;

    public Uri BaseAddress => Current.BaseAddress;
    public int ProcessId => Current.ProcessId;
    public bool HasExited => Current.HasExited;
    public string Tail() => Current.Tail();

    private DevHostServer Current => current ?? throw new InvalidOperationException("The DevHost has not started.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        starts++;
        current = await DevHostServer.StartAsync(dll, settings, work, startTimeout, cancellationToken, current?.Port, $"devhost-{starts}.log");
    }

    /// <summary>SIGKILL, a pause while nothing answers, and a new process on the same port.</summary>
    public async Task KillAndRestartAsync(TimeSpan down, CancellationToken cancellationToken)
    {
        if (Current.HasExited)
        {
            throw new BenchFailure("The DevHost had exited on its own before a planned kill. Its output:\n" + Current.Tail());
        }

        await Current.KillAsync();
        await Task.Delay(down, cancellationToken);
        await StartAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (current is not null)
        {
            await current.DisposeAsync();
        }
    }
}
