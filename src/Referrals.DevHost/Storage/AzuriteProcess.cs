using System.Diagnostics;
using System.Net.Sockets;

namespace Referrals.DevHost.Storage;

/// <summary>Azurite, started from the repository's node_modules (the version package-lock.json pins).</summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    private readonly Process process;

    private AzuriteProcess(Process process, StorageEndpoints endpoints)
    {
        this.process = process;
        Endpoints = endpoints;
    }

    public StorageEndpoints Endpoints { get; }

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

        var azurite = new AzuriteProcess(process, endpoints);
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

        return azurite;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
