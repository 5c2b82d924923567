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

    private readonly string executable;
    private readonly string workFolder;
    private readonly IReadOnlyList<string> arguments;
    private ChildProcess process;
    private int starts = 1;

    private AzuriteServer(ChildProcess process, string executable, string workFolder, IReadOnlyList<string> arguments, int blobPort, int queuePort, int tablePort, string debugLogPath)
    {
        this.process = process;
        this.executable = executable;
        this.workFolder = workFolder;
        this.arguments = arguments;
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

    /// <param name="requestLog">Whether Azurite writes its request log (<c>--debug</c>): the pipeline run counts requests with it; it costs throughput.</param>
    public static async Task<AzuriteServer> StartAsync(string executable, string workFolder, TimeSpan timeout, CancellationToken cancellationToken, bool requestLog = true)
    {
        var data = Path.Combine(workFolder, "azurite");
        Directory.CreateDirectory(data);
        var debugLog = Path.Combine(workFolder, "azurite-debug.log");
        int blob = BenchEnvironment.FreePort(), queue = BenchEnvironment.FreePort(), table = BenchEnvironment.FreePort();
        string Port(int p) => p.ToString(CultureInfo.InvariantCulture);
        List<string> arguments =
        [
            "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", data,
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", Port(blob), "--queuePort", Port(queue), "--tablePort", Port(table),
        ];
        if (requestLog)
        {
            arguments.AddRange(["--debug", debugLog]);
        }

        var child = ChildProcess.Start("Azurite", executable, arguments, workFolder, Path.Combine(workFolder, "azurite.out"));
        var server = new AzuriteServer(child, executable, workFolder, arguments, blob, queue, table, debugLog);
        await server.WaitUntilAnsweringAsync(timeout, cancellationToken);
        return server;
    }

    /// <summary>
    /// Stops Azurite as Ctrl-C does, so it saves its metadata (a killed Azurite in disk mode loses queues it created
    /// recently), and starts it again on the same ports and folder: its data is kept.
    /// </summary>
    /// <returns>Whether Azurite ended on its own (false: it had to be killed).</returns>
    public async Task<bool> RestartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var graceful = await process.StopGracefullyAsync(TimeSpan.FromSeconds(20));
        await process.DisposeAsync();
        starts++;
        process = ChildProcess.Start("Azurite", executable, arguments, workFolder, Path.Combine(workFolder, $"azurite-{starts}.out"));
        await WaitUntilAnsweringAsync(timeout, cancellationToken);
        return graceful;
    }

    private async Task WaitUntilAnsweringAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (!await AnswersAsync(QueuePort, cancellationToken) || !await AnswersAsync(TablePort, cancellationToken))
        {
            if (process.HasExited || clock.Elapsed > timeout)
            {
                var why = process.HasExited ? "exited" : $"did not answer on ports {QueuePort}/{TablePort} within {timeout.TotalSeconds:F0} s";
                var tail = process.Tail();
                await DisposeAsync();
                throw new BenchFailure($"Azurite {why}. Its output:\n{tail}");
            }

            await Task.Delay(100, cancellationToken);
        }
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
