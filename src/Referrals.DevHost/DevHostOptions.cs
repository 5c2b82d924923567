namespace Referrals.DevHost;

/// <summary>Settings of the DevHost itself (section "DevHost"); the Functions app's own settings sit beside it.</summary>
public sealed class DevHostOptions
{
    public const string Section = "DevHost";

    /// <summary>Kestrel port on 127.0.0.1; 7071 like Core Tools.</summary>
    public int Port { get; set; } = 7071;

    /// <summary>The Functions build folder; by default the one this DevHost was built against.</summary>
    public string? FunctionsAppPath { get; set; }

    /// <summary>
    /// How long a stop waits for in-flight invocations, as the host's shutdown timeout bounds it. Their token is signalled
    /// at once (or, with FUNCTIONS_ENABLE_DRAIN_ON_APP_STOPPING=true, only once this has passed).
    /// </summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Create the app's queues and tables at start, as infra does on Azure. Off, the app's own start-up check
    /// (Referrals.Functions.Storage.StorageCheck) refuses to start on storage that lacks any of them.
    /// </summary>
    public bool CreateStorage { get; set; } = true;

    /// <summary>
    /// The lease a queue trigger takes on a message while its function runs: 10 minutes, renewed at half-time, as the
    /// Functions host does. Chaos runs shorten it (whole seconds, at least 1 s) so a killed host's messages return sooner.
    /// </summary>
    public TimeSpan MessageLease { get; set; } = TimeSpan.FromMinutes(10);

    public AzuriteOptions Azurite { get; set; } = new();
}

public sealed class AzuriteOptions
{
    /// <summary>Start Azurite when no emulator answers on the connection's ports.</summary>
    public bool AutoStart { get; set; } = true;

    /// <summary>Keep data in memory. Only for short runs: Azurite freezes under message churn in this mode.</summary>
    public bool InMemory { get; set; }

    /// <summary>Where Azurite keeps its data; by default .azurite/ in the repository (git-ignored).</summary>
    public string? DataFolder { get; set; }
}
