using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// What every black-box run does around its measurement: Ctrl-C, SIGTERM and SIGHUP end the children (twice to
/// force), a time limit names the step it stopped in, the work folder is removed unless kept (or on failure, for its
/// logs), and no Azurite or DevHost outlives the bench.
/// </summary>
internal static class BenchHarness
{
    public static async Task<int> RunAsync<TOptions>(
        string workPrefix,
        Func<TOptions> parse,
        Func<TOptions, (bool Keep, TimeSpan TimeLimit)> settings,
        Func<TOptions, BenchEnvironment, string, string, CancellationToken, Task> measureAndPrint,
        Func<string> currentStep,
        Stopwatch clock)
    {
        using var stop = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (stop.IsCancellationRequested)
            {
                ChildProcess.KillAll();
                Environment.Exit(130);
            }

            Console.Error.WriteLine("Stopping: ending the DevHost and Azurite (again to force).");
            stop.Cancel();
            // If unwinding hangs, end the children anyway.
            _ = Task.Delay(TimeSpan.FromSeconds(20), CancellationToken.None).ContinueWith(_ => { ChildProcess.KillAll(); Environment.Exit(130); }, TaskScheduler.Default);
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => ChildProcess.KillAll();

        string? work = null;
        var keep = false;
        try
        {
            var options = parse();
            (keep, var timeLimit) = settings(options);
            var environment = BenchEnvironment.Locate();
            environment.CheckPrerequisites();
            var runId = Guid.NewGuid().ToString("N")[..8];
            work = Path.Combine(Path.GetTempPath(), workPrefix + runId);
            Directory.CreateDirectory(work);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            limit.CancelAfter(timeLimit);
            try
            {
                await measureAndPrint(options, environment, runId, work, limit.Token);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !stop.IsCancellationRequested)
            {
                throw new BenchFailure($"The run passed its time limit ({timeLimit.TotalSeconds:F0} s, --time-limit) during: {currentStep()}.");
            }

            if (keep)
            {
                Console.Error.WriteLine($"Kept the work folder: {work}");
            }
            else
            {
                TryDelete(work);
            }

            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine("Interrupted.");
            ChildProcess.KillAll();
            if (work is not null && !keep)
            {
                TryDelete(work);
            }

            return 130;
        }
        catch (BenchFailure e)
        {
            Console.Error.WriteLine($"bench failed after {clock.Elapsed.TotalSeconds:F0} s: {e.Message}");
            if (work is not null)
            {
                Console.Error.WriteLine($"Logs (Azurite's, the DevHost's output) are kept in {work}");
            }

            return 1;
        }
        finally
        {
            ChildProcess.KillAll();
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"warning: could not delete {folder}: {e.Message}");
        }
    }
}
