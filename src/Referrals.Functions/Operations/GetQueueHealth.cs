using Azure;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations;

/// <summary>For operators: how deep each pipeline queue and its poison queue are.</summary>
public sealed class GetQueueHealth(QueueServiceClient queues)
{
    [Function(nameof(GetQueueHealth))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/queues")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var report = new List<object>();
        foreach (var name in StorageNames.Queues)
        {
            report.Add(new
            {
                queue = name,
                approximateMessages = await DepthAsync(name, cancellationToken),
                poisonMessages = await DepthAsync($"{name}-poison", cancellationToken),
            });
        }

        return TypedResults.Ok(new { queues = report });
    }

    private async Task<int> DepthAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var properties = await queues.GetQueueClient(name).GetPropertiesAsync(cancellationToken);
            return properties.Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException e) when (e.Status == StatusCodes.Status404NotFound)
        {
            // Poison queues are created on first use; no queue means nothing has failed yet.
            return 0;
        }
    }
}
