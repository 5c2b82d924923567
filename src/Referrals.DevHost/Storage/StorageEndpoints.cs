using System.Data.Common;

namespace Referrals.DevHost.Storage;

/// <summary>The local ports a storage connection string points at, when it points at an emulator on this machine.</summary>
public sealed record StorageEndpoints(int BlobPort, int QueuePort, int TablePort)
{
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development account key (public, and only valid against the emulator).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public static readonly StorageEndpoints Default = new(10000, 10001, 10002);

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};"
        + $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{AccountName};QueueEndpoint=http://127.0.0.1:{QueuePort}/{AccountName};TableEndpoint=http://127.0.0.1:{TablePort}/{AccountName};";

    /// <returns>The emulator's ports, or null when the connection string names a real (remote) account.</returns>
    public static StorageEndpoints? FromConnectionString(string connectionString)
    {
        var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && string.Equals(dev?.ToString(), "true", StringComparison.OrdinalIgnoreCase))
        {
            return Default;
        }

        int? Port(string key) =>
            parts.TryGetValue(key, out var value) && Uri.TryCreate(value?.ToString(), UriKind.Absolute, out var uri) && uri.IsLoopback ? uri.Port : null;

        return Port("QueueEndpoint") is { } queue && Port("TableEndpoint") is { } table
            ? new StorageEndpoints(Port("BlobEndpoint") ?? Default.BlobPort, queue, table)
            : null;
    }
}
