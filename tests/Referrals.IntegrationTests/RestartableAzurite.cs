using Referrals.DevHost.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// A test Azurite that can be stopped and started again on the same ports and data folder (disk mode), as a storage
/// outage or an emulator restart looks to its clients.
/// </summary>
public sealed class RestartableAzurite : IAsyncDisposable
{
    private readonly string executable;
    private readonly string dataFolder = Path.Combine(Path.GetTempPath(), "referrals-azurite-" + Guid.NewGuid().ToString("N"));
    private AzuriteProcess? process;

    private RestartableAzurite(string executable)
    {
        this.executable = executable;
        Endpoints = new StorageEndpoints(FreePort.Next(), FreePort.Next(), FreePort.Next());
    }

    public StorageEndpoints Endpoints { get; }
    public string ConnectionString => Endpoints.ConnectionString;

    public static async Task<RestartableAzurite> StartAsync()
    {
        var azurite = new RestartableAzurite(AzuriteProcess.FindExecutable(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("Azurite is not installed: run 'npm ci' at the repository root."));
        await azurite.StartAgainAsync();
        return azurite;
    }

    /// <summary>Kills the emulator (as a crash would); its data stays on disk.</summary>
    public async Task StopAsync()
    {
        if (process is not null)
        {
            await process.DisposeAsync();
            process = null;
        }
    }

    public async Task StartAgainAsync() => process ??= await AzuriteProcess.StartAsync(executable, Endpoints, dataFolder);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(dataFolder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the exiting process; the OS cleans temp folders eventually.
        }
    }
}
