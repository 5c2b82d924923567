using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations;

/// <summary>For operators: the messages parked after failing every attempt (see <see cref="PoisonMessages"/>), to replay or discard.</summary>
public sealed class ListPoisonMessages([FromKeyedServices(StorageNames.PoisonTable)] TableClient parked)
{
    [Function(nameof(ListPoisonMessages))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/poison")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var rows = new List<object>();
        await foreach (var row in parked.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
        {
            rows.Add(new { queue = row.PartitionKey, id = row.RowKey, referralId = row.GetString("ReferralId"), parkedAt = row.GetDateTimeOffset("ParkedAt") });
        }

        return TypedResults.Ok(new { messages = rows });
    }
}
