using Azure.Core;
using Azure.Core.Pipeline;

namespace Referrals.Bench.LedgerFaults;

/// <summary>Fails a share of entity updates (PUT/MERGE/PATCH) with 503, as a storage blip would.</summary>
internal sealed class FailingWrites(double rate) : HttpPipelinePolicy
{
    private int seen;
    private int failed;

    public int Seen => seen;
    public int Failed => failed;

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("async only");

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (message.Request.Method == RequestMethod.Put || message.Request.Method == RequestMethod.Patch || message.Request.Method.Method == "MERGE")
        {
            Interlocked.Increment(ref seen);
            if (Random.Shared.NextDouble() < rate)
            {
                Interlocked.Increment(ref failed);
                throw new Azure.RequestFailedException(503, "Injected storage fault");
            }
        }

        await ProcessNextAsync(message, pipeline);
    }
}
