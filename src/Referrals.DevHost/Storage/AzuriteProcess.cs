using System.Diagnostics;
using System.Net.Sockets;

namespace Referrals.DevHost.Storage;

/// <summary>
/// Azurite, started from the repository's node_modules (the version package-lock.json pins). Its owner is recorded in
/// an owner file (pid and start time) so that a DevHost killed before it could stop Azurite is succeeded by the next
/// one, which adopts the running emulator instead of leaving it without an owner (see the DevHost README).
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    private readonly Process process;

    private AzuriteProcess(Process process, StorageEndpoints endpoints, bool adopted)
    {
        this.process = process;
        Endpoints = endpoints;
        Adopted = adopted;
    }

    public StorageEndpoints Endpoints { get; }

    /// <summary>Started by an earlier DevHost that was killed, and now owned (and stopped) by this one.</summary>
    public bool Adopted { get; }

    /// <summary>The owner file of the Azurite a DevHost started on these ports.</summary>
    public static string OwnerFile(StorageEndpoints endpoints) =>
        Path.Combine(Path.GetTempPath(), $"referrals-devhost-azurite-{endpoints.QueuePort}.owner");

    /// <summary>
    /// The Azurite an earlier DevHost started on these ports and left running, if the owner file names a live process
    /// with the recorded start time (a reused pid is not adopted); a stale owner file is removed.
    /// </summary>
    public static AzuriteProcess? TryAdopt(StorageEndpoints endpoints)
    {
        var file = OwnerFile(endpoints);
        if (!File.Exists(file))
        {
            return null;
        }

        var parts = File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var pid)
            && long.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var startTicks))
        {
            try
            {
                var process = Process.GetProcessById(pid);
                if (!process.HasExited && process.StartTime.ToUniversalTime().Ticks == startTicks)
                {
                    return new AzuriteProcess(process, endpoints, adopted: true);
                }

                process.Dispose();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Gone since: the file is stale.
            }
        }

        File.Delete(file);
        return null;
    }

    public static async Task<bool> IsAnsweringAsync(StorageEndpoints endpoints, CancellationToken cancellationToken = default)
    {
        foreach (var port in new[] { endpoints.QueuePort, endpoints.TablePort })
        {
            using var client = new TcpClient();
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(1));
                await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Walks up from <paramref name="start"/> to the folder whose node_modules holds Azurite.</summary>
    public static string? FindExecutable(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "node_modules", ".bin", "azurite");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <param name="dataFolder">Where Azurite keeps its data; null keeps it in memory (only for small runs: see the README).</param>
    public static async Task<AzuriteProcess> StartAsync(string executable, StorageEndpoints endpoints, string? dataFolder, TimeSpan? startTimeout = null)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--silent", "--disableTelemetry", "--skipApiVersionCheck",
                     "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                     "--blobPort", endpoints.BlobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--queuePort", endpoints.QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--tablePort", endpoints.TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 })
        {
            info.ArgumentList.Add(arg);
        }

        if (dataFolder is null)
        {
            info.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(dataFolder);
            info.ArgumentList.Add("--location");
            info.ArgumentList.Add(dataFolder);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {executable}.");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var azurite = new AzuriteProcess(process, endpoints, adopted: false);
        var deadline = Stopwatch.StartNew();
        while (!await IsAnsweringAsync(endpoints))
        {
            if (process.HasExited || deadline.Elapsed > (startTimeout ?? TimeSpan.FromSeconds(30)))
            {
                await azurite.DisposeAsync();
                string log;
                lock (output) log = output.ToString();
                throw new InvalidOperationException($"Azurite did not start on ports {endpoints.QueuePort}/{endpoints.TablePort}: {log}");
            }

            await Task.Delay(100);
        }

        await File.WriteAllTextAsync(OwnerFile(endpoints),
            FormattableString.Invariant($"{process.Id} {process.StartTime.ToUniversalTime().Ticks}"));
        return azurite;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        File.Delete(OwnerFile(Endpoints));
        process.Dispose();
    }
}
