using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: route a referral again. An open offer is taken back as a decline would end it (that specialist is
/// never offered it again, and it counts towards Routing:MaxUnanswered), and routing picks the next best specialist or
/// sends it to triage; a referral waiting in triage is routed again as it stands (say, after the directory changed).
/// The audit row commits with the new assignment.
/// </summary>
public sealed partial class RerouteReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    ReferralRouter router,
    PipelineQueues queues,
    OperatorAudit audit,
    OperatorIdentity identity,
    TimeProvider clock,
    ILogger<RerouteReferral> logger)
{
    public const string Action = "reroute";

    [Function(nameof(RerouteReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ops/referrals/{id}/reroute")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (OperatorRequest.Reason(await OperatorRequest.BodyAsync(request, cancellationToken)) is not { } reason)
        {
            return OperatorRequest.ReasonRequired();
        }

        var keyName = identity.KeyName(request);
        // The referral's row also changes when its emails finish: a conflict with such a write is decided again on a
        // fresh read, and only a referral that keeps changing gets the 409.
        for (var attempt = 1; ; attempt++)
        {
            if (await TryRerouteAsync(id, reason, keyName, attempt == MaxAttempts, cancellationToken) is { } result)
            {
                return result;
            }
        }
    }

    private const int MaxAttempts = 3;

    /// <returns>The answer, or null when the write met a concurrent change and may be tried again.</returns>
    private async Task<IResult?> TryRerouteAsync(string id, string reason, string keyName, bool lastAttempt, CancellationToken cancellationToken)
    {
        var referral = ReferralId.IsWellFormed(id) ? await referrals.FindReferralAsync(id, cancellationToken) : null;
        if (referral is null)
        {
            return Problems.NotFound("No referral has this reference.");
        }

        var rerouted = referral.ToCase();
        try
        {
            if (referral.IsErased)
            {
                throw new InvalidStatusTransitionException(referral.CurrentStatus, ReferralStatus.Routed);
            }

            rerouted.RerouteByOperator();
        }
        catch (InvalidStatusTransitionException)
        {
            return Problems.Of(StatusCodes.Status409Conflict, "Only a referral with an unanswered offer, or waiting in triage, can be routed again.", $"It is {referral.Status}.");
        }

        var previous = referral.AssignedSpecialistId;
        var entry = new AuditEntry(clock.GetUtcNow(), keyName, Action, id, AuditReasons.Scrub(reason, referral), previous is null ? "from=triage" : $"from={previous}");
        await queues.NotifyLaterAsync(referral, cancellationToken);
        try
        {
            // An open offer's specialist gets their unit of capacity back once the new assignment is written.
            _ = previous is null
                ? await router.RouteAsync(referral, rerouted, cancellationToken, [OperatorAudit.ReferralRow(entry)])
                : await router.RerouteAsync(referral, rerouted, cancellationToken, [OperatorAudit.ReferralRow(entry)]);
        }
        catch (InvalidStatusTransitionException)
        {
            // From triage, routing found nobody again: triage to triage is no move, so nothing was written.
            return Problems.Of(StatusCodes.Status409Conflict, "No specialist can take it now; it stays in triage.", "Assign it to a specialist of your choice instead.");
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            return lastAttempt ? Problems.Of(StatusCodes.Status409Conflict, "The referral changed meanwhile.", "Look at it again, then route it again if it still needs it.") : null;
        }

        await audit.RecordAsync(entry, cancellationToken);
        LogRerouted(id, keyName, referral.Status);
        return TypedResults.Ok(new { id, status = referral.Status, specialistId = referral.AssignedSpecialistId });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} routed again by an operator (key {KeyName}): now {Status}")]
    private partial void LogRerouted(string referralId, string keyName, string status);
}
