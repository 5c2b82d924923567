using System.Collections.Concurrent;
using System.Diagnostics;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// A process the bench started (Azurite, the DevHost), its output kept in a file. Every one is also registered so a
/// Ctrl-C, SIGTERM or crash of the bench still ends it: a benchmark must not leave emulators running on a shared machine.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, ChildProcess> Running = new();

    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Lock logLock = new();

    private ChildProcess(Process process, StreamWriter log, string name, string logPath)
    {
        this.process = process;
        this.log = log;
        Name = name;
        LogPath = logPath;
    }

    public string Name { get; }
    public string LogPath { get; }
    public int Id => process.Id;
    public bool HasExited => process.HasExited;

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string workingDirectory, string logPath)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {name} ({fileName}).");
        var child = new ChildProcess(process, log, name, logPath);
        Running[process.Id] = child;
        process.OutputDataReceived += (_, e) => child.Write(e.Data);
        process.ErrorDataReceived += (_, e) => child.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Ends every child still running; safe to call from a signal handler, more than once.</summary>
    public static void KillAll()
    {
        foreach (var child in Running.Values)
        {
            child.Kill();
        }
    }

    /// <summary>The last lines the process wrote, for an error message.</summary>
    public string Tail(int lines = 30)
    {
        lock (logLock)
        {
            log.Flush();
        }

        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines)).TrimEnd();
        }
        catch (IOException e)
        {
            return $"(could not read {LogPath}: {e.Message})";
        }
    }

    /// <summary>
    /// Asks the process to end (SIGINT, as Ctrl-C would: Azurite then saves its metadata) and waits; kills it if it
    /// does not end within <paramref name="timeout"/>. Returns whether it ended on its own.
    /// </summary>
    public async Task<bool> StopGracefullyAsync(TimeSpan timeout)
    {
        if (process.HasExited)
        {
            return true;
        }

        // The shell's own kill: a minimal machine may have no kill binary.
        using (var signal = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "kill -INT " + process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            await signal!.WaitForExitAsync();
        }

        try
        {
            using var wait = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            Kill();
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"warning: {Name} (pid {process.Id}) did not exit within 10 s of being killed.");
        }

        Running.TryRemove(process.Id, out _);
        lock (logLock)
        {
            log.Dispose();
        }

        process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (logLock)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after the bench closed the log: nothing left to keep it for.
            }
        }
    }
}
