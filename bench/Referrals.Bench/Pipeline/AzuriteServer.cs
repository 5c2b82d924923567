using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// Azurite in disk mode (memory mode freezes under message churn, see ../shared/docs/azurite-notes.md) on free ports,
/// writing its request log to <see cref="DebugLogPath"/> so the storage requests of the pipeline can be counted.
/// </summary>
internal sealed class AzuriteServer : IAsyncDisposable
{
    // Azurite's well-known development account (public; only valid against the emulator).
    private const string Account = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly ChildProcess process;

    private AzuriteServer(ChildProcess process, int blobPort, int queuePort, int tablePort, string debugLogPath)
    {
        this.process = process;
        QueuePort = queuePort;
        TablePort = tablePort;
        DebugLogPath = debugLogPath;
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};"
            + $"BlobEndpoint=http://127.0.0.1:{blobPort}/{Account};QueueEndpoint=http://127.0.0.1:{queuePort}/{Account};TableEndpoint=http://127.0.0.1:{tablePort}/{Account};";
    }

    public int QueuePort { get; }
    public int TablePort { get; }
    public string DebugLogPath { get; }
    public string ConnectionString { get; }
    public int ProcessId => process.Id;

    public static async Task<AzuriteServer> StartAsync(string executable, string workFolder, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var data = Path.Combine(workFolder, "azurite");
        Directory.CreateDirectory(data);
        var debugLog = Path.Combine(workFolder, "azurite-debug.log");
        int blob = BenchEnvironment.FreePort(), queue = BenchEnvironment.FreePort(), table = BenchEnvironment.FreePort();
        string Port(int p) => p.ToString(CultureInfo.InvariantCulture);
        var child = ChildProcess.Start("Azurite", executable,
            [
                "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", data, "--debug", debugLog,
                "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                "--blobPort", Port(blob), "--queuePort", Port(queue), "--tablePort", Port(table),
            ],
            workFolder,
            Path.Combine(workFolder, "azurite.out"));
        var server = new AzuriteServer(child, blob, queue, table, debugLog);
        var clock = Stopwatch.StartNew();
        while (!await AnswersAsync(queue, cancellationToken) || !await AnswersAsync(table, cancellationToken))
        {
            if (child.HasExited || clock.Elapsed > timeout)
            {
                var why = child.HasExited ? "exited" : $"did not answer on ports {queue}/{table} within {timeout.TotalSeconds:F0} s";
                var tail = child.Tail();
                await server.DisposeAsync();
                throw new BenchFailure($"Azurite {why}. Its output:\n{tail}");
            }

            await Task.Delay(100, cancellationToken);
        }

        return server;
    }

    public ValueTask DisposeAsync() => process.DisposeAsync();

    private static async Task<bool> AnswersAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
