using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: every routing decision of a referral (who was chosen and why; why not each other specialist), its
/// history, and the audit of its erasure.
/// </summary>
public sealed class GetRoutingExplanation([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals)
{
    [Function(nameof(GetRoutingExplanation))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "ops/referrals/{id}/routing")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var referral = ReferralId.IsWellFormed(id) ? await referrals.FindReferralAsync(id, cancellationToken) : null;
        if (referral is null)
        {
            return Problems.NotFound("No referral has this reference.");
        }

        var decisions = new List<object>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {id} and RowKey ge {ReferralRouter.DecisionRowPrefix} and RowKey lt {ReferralRouter.DecisionRowPrefix + "~"}");
        await foreach (var row in referrals.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            decisions.Add(new
            {
                at = row.GetDateTimeOffset("At"),
                chosenSpecialistId = row.GetString("ChosenSpecialistId"),
                explanation = row.GetString("Explanation"),
                ranked = JsonNode.Parse(row.GetString("Ranked") ?? "[]"),
                excluded = JsonNode.Parse(row.GetString("Excluded") ?? "[]"),
            });
        }

        var audit = new List<object>();
        var auditFilter = TableClient.CreateQueryFilter($"PartitionKey eq {id} and RowKey ge {ReferralErasure.AuditRowPrefix} and RowKey lt {ReferralErasure.AuditRowPrefix + "~"}");
        await foreach (var row in referrals.QueryAsync<TableEntity>(auditFilter, cancellationToken: cancellationToken))
        {
            audit.Add(new { at = row.GetDateTimeOffset("At"), action = row.GetString("Action"), actor = row.GetString("Actor"), reason = row.GetString("Reason") });
        }

        var history = await referrals.GetHistoryAsync(id, cancellationToken);
        return TypedResults.Ok(new
        {
            id,
            status = referral.Status,
            erasedAt = referral.ErasedAt,
            audit,
            assignedSpecialistId = referral.AssignedSpecialistId,
            duplicateOf = referral.DuplicateOf,
            visitor = referral.VisitorUnreachable ? "unreachable" : "reachable",
            excludedSpecialists = referral.ExcludedIds,
            decisions,
            history = history.ForDisplay(),
        });
    }
}
