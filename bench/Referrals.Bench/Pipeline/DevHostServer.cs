using System.Diagnostics;
using System.Net;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// The real DevHost (Release build) in a process of its own, configured only through its command line, so the bench
/// sees the app as a client does and the DevHost's memory is its own.
/// </summary>
internal sealed class DevHostServer : IAsyncDisposable
{
    private readonly ChildProcess process;

    private DevHostServer(ChildProcess process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }
    public int ProcessId => process.Id;
    public bool HasExited => process.HasExited;
    public string Tail() => process.Tail();

    /// <param name="port">The port to listen on (a restart keeps its predecessor's); a free one when null.</param>
    /// <param name="logName">The output file in <paramref name="workFolder"/>.</param>
    public static async Task<DevHostServer> StartAsync(
        string dll, IReadOnlyDictionary<string, string> settings, string workFolder, TimeSpan timeout, CancellationToken cancellationToken, int? port = null, string logName = "devhost.log")
    {
        port ??= BenchEnvironment.FreePort();
        var arguments = new List<string> { dll, $"--DevHost:Port={port}" };
        arguments.AddRange(settings.Select(s => $"--{s.Key}={s.Value}"));
        var child = ChildProcess.Start("DevHost", "dotnet", arguments, Path.GetDirectoryName(dll)!, Path.Combine(workFolder, logName));
        var server = new DevHostServer(child, new Uri($"http://127.0.0.1:{port}/"));

        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (child.HasExited || clock.Elapsed > timeout)
            {
                var why = child.HasExited ? "exited during startup" : $"did not answer GET /api/interest with 200 within {timeout.TotalSeconds:F0} s";
                var tail = child.Tail();
                await server.DisposeAsync();
                throw new BenchFailure($"The DevHost {why}. Its output:\n{tail}");
            }

            try
            {
                using var response = await http.GetAsync("api/interest", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Slow to answer while starting.
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    public int Port => BaseAddress.Port;

    /// <summary>Ends the DevHost with SIGKILL (what DisposeAsync does): no shutdown, no drain, leases left to run out.</summary>
    public ValueTask KillAsync() => process.DisposeAsync();

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
