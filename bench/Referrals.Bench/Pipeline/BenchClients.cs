using Azure.Data.Tables;
using Azure.Storage.Queues;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// Storage client options for the bench's own requests. The application id goes into their User-Agent, so the
/// request log count can leave them out and only the DevHost's requests are charged to the pipeline.
/// </summary>
internal static class BenchClients
{
    public const string ApplicationId = "referrals-bench";

    public static TableClientOptions Tables() => new() { Diagnostics = { ApplicationId = ApplicationId } };

    public static QueueClientOptions Queues() => new() { Diagnostics = { ApplicationId = ApplicationId } };
}
