using System.Diagnostics;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Chaos;

/// <summary>
/// The faults of a chaos run, in a random order at random gaps: SIGKILLs of the DevHost (restarted after up to 2 s) and
/// graceful Azurite restarts with their data kept.
/// </summary>
internal sealed class FaultSchedule(ChaosOptions options, RestartingDevHost host, AzuriteServer azurite, Action<string> progress)
{
    private int kills;
    private int azuriteRestarts;
    private int ungraceful;

    public int Kills => Volatile.Read(ref kills);
    public int AzuriteRestarts => Volatile.Read(ref azuriteRestarts);

    /// <summary>Azurite restarts where it had to be killed because it did not stop on SIGINT within 20 s.</summary>
    public int UngracefulAzuriteStops => Volatile.Read(ref ungraceful);

    /// <summary>When the last fault was over (host or Azurite answering again); a Stopwatch timestamp.</summary>
    public long LastFaultEndedAt { get; private set; } = Stopwatch.GetTimestamp();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var faults = Enumerable.Repeat(true, options.Kills).Concat(Enumerable.Repeat(false, options.AzuriteRestarts)).ToArray();
        Random.Shared.Shuffle(faults);
        foreach (var kill in faults)
        {
            await Task.Delay(ChaosSendGrid.Spaced(options.FaultSpacing), cancellationToken);
            if (kill)
            {
                var down = TimeSpan.FromSeconds(0.2 + (1.8 * Random.Shared.NextDouble()));
                var pid = host.ProcessId;
                await host.KillAndRestartAsync(down, cancellationToken);
                Interlocked.Increment(ref kills);
                progress($"killed the DevHost (pid {pid}, SIGKILL); down {down.TotalSeconds:F1} s; pid {host.ProcessId} answers again");
            }
            else
            {
                var clock = Stopwatch.StartNew();
                if (!await azurite.RestartAsync(TimeSpan.FromSeconds(60), cancellationToken))
                {
                    Interlocked.Increment(ref ungraceful);
                }

                Interlocked.Increment(ref azuriteRestarts);
                progress($"restarted Azurite (data kept); storage was away {clock.Elapsed.TotalSeconds:F1} s");
            }

            LastFaultEndedAt = Stopwatch.GetTimestamp();
        }
    }
}
