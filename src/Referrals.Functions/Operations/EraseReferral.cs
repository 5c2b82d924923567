using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: withdraw a referral and erase its personal details (a request by phone or email, say), with a
/// reason. The audit row, naming the operator's key, goes into the erasure's own transaction in the referral's
/// partition (it survives the erasure) and into the day's operator audit log.
/// </summary>
public sealed partial class EraseReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    ReferralErasure erasure,
    OperatorAudit audit,
    OperatorIdentity identity,
    TimeProvider clock,
    ILogger<EraseReferral> logger)
{
    public const string Action = "erase";

    [Function(nameof(EraseReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ops/referrals/{id}/erase")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (OperatorRequest.Reason(await OperatorRequest.BodyAsync(request, cancellationToken)) is not { } reason)
        {
            return OperatorRequest.ReasonRequired();
        }

        // Read first only to blank the referral's own values out of the reason the day log keeps.
        var before = ReferralId.IsWellFormed(id) ? await referrals.FindReferralAsync(id, cancellationToken) : null;
        var keyName = identity.KeyName(request);
        if (before is null || !await erasure.EraseAsync(id, Actor.Operator, reason, keyName, cancellationToken))
        {
            return Problems.NotFound("No referral has this reference.");
        }

        await audit.RecordAsync(new AuditEntry(clock.GetUtcNow(), keyName, Action, id, AuditReasons.Scrub(reason, before)), cancellationToken);
        var stub = (await referrals.FindReferralAsync(id, cancellationToken))!;
        LogErased(id, keyName);
        return TypedResults.Ok(new { id, status = stub.Status, erasedAt = stub.ErasedAt });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} erased by an operator (key {KeyName})")]
    private partial void LogErased(string referralId, string keyName);
}
