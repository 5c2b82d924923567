using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations;

/// <summary>
/// For uptime probes, without a key: "ok" (200) when the tables and every queue answer and no message has been parked
/// (it failed every attempt) for longer than Health:PoisonOlderThan without an operator replaying or discarding it;
/// otherwise "degraded" (503). Nothing more, so it tells an anonymous caller nothing about the referrals.
/// </summary>
public sealed partial class GetHealth(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.PoisonTable)] TableClient parked,
    QueueServiceClient queues,
    IOptions<HealthOptions> options,
    TimeProvider clock,
    ILogger<GetHealth> logger)
{
    [Function(nameof(GetHealth))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Value.Timeout);
        string? problem;
        try
        {
            problem = await ProblemAsync(deadline.Token);
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            problem = "storage did not answer";
        }

        if (problem is not null)
        {
            LogDegraded(problem);
            return TypedResults.Text("degraded", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Text("ok", "text/plain");
    }

    private async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        // One point read that finds nothing: the table service answers.
        await referrals.GetEntityIfExistsAsync<TableEntity>("health", "health", [nameof(ITableEntity.RowKey)], cancellationToken);
        foreach (var name in StorageNames.Queues)
        {
            await queues.GetQueueClient(name).GetPropertiesAsync(cancellationToken);
        }

        // The poison handlers park every failed message at once, so the parked rows are the poison that waits.
        var cutoff = clock.GetUtcNow() - options.Value.PoisonOlderThan;
        await foreach (var page in parked.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"ParkedAt lt {cutoff}"), maxPerPage: 1, select: [nameof(ITableEntity.RowKey)], cancellationToken: cancellationToken).AsPages())
        {
            if (page.Values.Count > 0)
            {
                return "a parked message waits for operators";
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health: degraded ({Problem})")]
    private partial void LogDegraded(string problem);
}
