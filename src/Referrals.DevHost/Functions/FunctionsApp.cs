using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Referrals.DevHost.Functions;

/// <summary>One binding of a function, as functions.metadata lists it; trigger-specific fields stay in <see cref="Raw"/>.</summary>
public sealed record FunctionBinding(string Name, string Type, string Direction, JsonObject Raw)
{
    public string? Get(string property) =>
        Raw.FirstOrDefault(p => string.Equals(p.Key, property, StringComparison.OrdinalIgnoreCase)).Value?.ToString();

    public bool IsTrigger => Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase);
}

/// <param name="Retry">The function's retry policy block, if the metadata has one.</param>
public sealed record FunctionMetadata(string Name, string ScriptFile, string EntryPoint, IReadOnlyList<FunctionBinding> Bindings, JsonObject? Retry = null)
{
    public FunctionBinding Trigger => Bindings.Single(b => b.IsTrigger);
}

/// <summary>The settings of host.json that the DevHost honours, with the Functions host's defaults.</summary>
public sealed record HostSettings(string RoutePrefix, QueueSettings Queues);

public sealed record QueueSettings(
    int BatchSize,
    int NewBatchThreshold,
    TimeSpan MaxPollingInterval,
    TimeSpan VisibilityTimeout,
    int MaxDequeueCount,
    bool Base64Encoding)
{
    public const int MaxBatchSize = 32;

    /// <summary>The Functions host's defaults (QueuesOptions); newBatchThreshold is (batchSize / 2) × processors.</summary>
    public static QueueSettings Defaults(int processorCount) =>
        new(16, 16 / 2 * processorCount, TimeSpan.FromMinutes(1), TimeSpan.Zero, 5, true);
}

/// <summary>A Functions build output: its functions.metadata, host.json and the assembly they describe.</summary>
public sealed class FunctionsApp
{
    private FunctionsApp(string directory, IReadOnlyList<FunctionMetadata> functions, HostSettings host)
    {
        Directory = directory;
        Functions = functions;
        Host = host;
    }

    public string Directory { get; }
    public IReadOnlyList<FunctionMetadata> Functions { get; }
    public HostSettings Host { get; }

    /// <summary>The Functions project's build folder, as recorded when the DevHost was built.</summary>
    public static string? BuiltDirectory =>
        typeof(FunctionsApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "FunctionsAppPath")?.Value;

    /// <param name="configuration">Settings that override host.json as on the Functions host (<see cref="HostJsonOverrides"/>).</param>
    public static FunctionsApp Load(string directory, int processorCount, IConfiguration? configuration = null)
    {
        var metadataPath = Path.Combine(directory, "functions.metadata");
        var hostPath = Path.Combine(directory, "host.json");
        if (!File.Exists(metadataPath))
        {
            throw new FileNotFoundException($"No functions.metadata in {directory}. Build the Functions project first.", metadataPath);
        }

        var functions = JsonNode.Parse(File.ReadAllText(metadataPath))!.AsArray()
            .Select(f => f!.AsObject())
            .Select(f => new FunctionMetadata(
                (string)f["name"]!,
                (string)f["scriptFile"]!,
                (string)f["entryPoint"]!,
                f["bindings"]!.AsArray().Select(b => b!.AsObject()).Select(b => new FunctionBinding(
                    (string)b["name"]!, (string)b["type"]!, (string)b["direction"]!, b)).ToList(),
                f["retry"] as JsonObject))
            .ToList();

        var hostJson = File.Exists(hostPath)
            ? JsonNode.Parse(File.ReadAllText(hostPath), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!.AsObject()
            : new JsonObject();
        return new FunctionsApp(directory, functions, ReadHostSettings(HostJsonOverrides.Apply(hostJson, configuration), processorCount));
    }

    internal static HostSettings ReadHostSettings(JsonObject hostJson, int processorCount)
    {
        var extensions = Child(hostJson, "extensions");
        var http = Child(extensions, "http");
        var queues = Child(extensions, "queues");
        var defaults = QueueSettings.Defaults(processorCount);

        var batchSize = Int(queues, "batchSize") ?? defaults.BatchSize;
        if (batchSize is <= 0 or > QueueSettings.MaxBatchSize)
        {
            throw new InvalidOperationException($"host.json extensions.queues.batchSize must be between 1 and {QueueSettings.MaxBatchSize}.");
        }

        var encoding = Str(queues, "messageEncoding") ?? "base64";
        var settings = new QueueSettings(
            batchSize,
            Int(queues, "newBatchThreshold") ?? batchSize / 2 * processorCount,
            Time(queues, "maxPollingInterval") ?? defaults.MaxPollingInterval,
            Time(queues, "visibilityTimeout") ?? defaults.VisibilityTimeout,
            Int(queues, "maxDequeueCount") ?? defaults.MaxDequeueCount,
            !string.Equals(encoding, "none", StringComparison.OrdinalIgnoreCase));
        if (settings.MaxPollingInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new InvalidOperationException("host.json extensions.queues.maxPollingInterval must be at least 100 ms.");
        }

        return new HostSettings(Str(http, "routePrefix") ?? "api", settings);
    }

    private static JsonObject Child(JsonObject parent, string name) =>
        parent.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value as JsonObject ?? new JsonObject();

    private static string? Str(JsonObject parent, string name) =>
        parent.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.ToString();

    private static int? Int(JsonObject parent, string name) => Str(parent, name) is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static TimeSpan? Time(JsonObject parent, string name) =>
        Str(parent, name) is { } s ? TimeSpan.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;
}
