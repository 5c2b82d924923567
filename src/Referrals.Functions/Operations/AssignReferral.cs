using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Core.Routing;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: assign a referral waiting in triage to a specialist they chose. The specialist must still be
/// licensed in the visitor's state and offer the treatment; their capacity is checked as routing checks it, and only an
/// explicit <c>overrideCapacity</c> goes past it (the audit says so). The offer is then what routing's would be: a new
/// assignment with its decision row, the audit row in the same transaction, and the specialist's email queued.
/// </summary>
public sealed partial class AssignReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    SpecialistDirectory directory,
    PipelineQueues queues,
    OperatorAudit audit,
    OperatorIdentity identity,
    IOptions<RoutingOptions> routing,
    TimeProvider clock,
    ILogger<AssignReferral> logger)
{
    public const string Action = "assign";

    [Function(nameof(AssignReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ops/referrals/{id}/assign")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var body = await OperatorRequest.BodyAsync(request, cancellationToken);
        if (OperatorRequest.Reason(body) is not { } reason)
        {
            return OperatorRequest.ReasonRequired();
        }

        if (body!["specialistId"]?.GetValueKind() != System.Text.Json.JsonValueKind.String || body["specialistId"]!.GetValue<string>().Trim() is not { Length: > 0 } specialistId)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "A specialistId is required.", "Name the specialist by their directory id.");
        }

        if (body["overrideCapacity"] is { } flag && flag.GetValueKind() is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "overrideCapacity is true or false.");
        }

        var overrideCapacity = body["overrideCapacity"]?.GetValue<bool>() == true;
        var keyName = identity.KeyName(request);
        // The referral's row also changes when its emails finish: a conflict with such a write is decided again on a
        // fresh read (the checks run again), and only a referral that keeps changing gets the 409.
        for (var attempt = 1; ; attempt++)
        {
            if (await TryAssignAsync(id, specialistId, overrideCapacity, reason, keyName, attempt == MaxAttempts, cancellationToken) is { } result)
            {
                return result;
            }
        }
    }

    private const int MaxAttempts = 3;

    /// <returns>The answer, or null when the write met a concurrent change and may be tried again.</returns>
    private async Task<IResult?> TryAssignAsync(string id, string specialistId, bool overrideCapacity, string reason, string keyName, bool lastAttempt, CancellationToken cancellationToken)
    {
        var referral = ReferralId.IsWellFormed(id) ? await referrals.FindReferralAsync(id, cancellationToken) : null;
        if (referral is null)
        {
            return Problems.NotFound("No referral has this reference.");
        }

        if (referral.IsErased || referral.CurrentStatus != ReferralStatus.NeedsTriage)
        {
            return Problems.Of(StatusCodes.Status409Conflict, "Only a referral waiting in triage can be assigned.", $"It is {referral.Status}.");
        }

        if (await directory.FindAsync(specialistId, cancellationToken) is not { } specialist)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "No specialist has this id.");
        }

        var matching = new RoutingRequest(referral.State, referral.Treatment, referral.Language, referral.Insurance, VisitPreference.Either, referral.ExcludedIds);
        if (Router.AssignmentReason(matching, specialist) is { } mismatch)
        {
            return Problems.Of(StatusCodes.Status409Conflict, "This specialist cannot take this referral.", $"{specialist.Id}: {mismatch}.",
                new Dictionary<string, object?> { ["rule"] = mismatch });
        }

        var now = clock.GetUtcNow();
        var week = Router.WeekOf(now);
        string? exceeded = null;
        if (overrideCapacity)
        {
            exceeded = await directory.OfferBeyondCapacityAsync(week, specialist, routing.Value.MaxOpenOffers, now, cancellationToken);
        }
        else if (await directory.OfferAsync(week, specialist, routing.Value.MaxOpenOffers, now, cancellationToken) is { } full)
        {
            return Problems.Of(StatusCodes.Status409Conflict, "The specialist has no room for another offer.",
                $"{specialist.Id}: {full}. Send \"overrideCapacity\": true to assign it anyway; the audit records that you did.",
                new Dictionary<string, object?> { ["rule"] = full });
        }

        var detail = $"specialist={specialist.Id}" + (exceeded is not null ? $"; capacity overridden: {exceeded}" : overrideCapacity ? "; override asked, within capacity" : "");
        var entry = new AuditEntry(now, keyName, Action, id, AuditReasons.Scrub(reason, referral), detail);
        var assigned = referral.ToCase();
        var explanation = $"Assigned to {specialist.Id} by an operator" + (exceeded is not null ? $", past the capacity rule ({exceeded})." : ".");
        try
        {
            assigned.Assign(specialist.Id, now, explanation);
            var decision = new TableEntity(id, $"{ReferralRouter.DecisionRowPrefix}{assigned.Assignment:D5}")
            {
                ["At"] = now,
                ["ChosenSpecialistId"] = specialist.Id,
                ["Explanation"] = explanation,
                ["Ranked"] = "[]",
                ["Excluded"] = "[]",
            };
            await queues.NotifyLaterAsync(referral, cancellationToken);
            await referrals.SaveAsync(referral, assigned, [decision, OperatorAudit.ReferralRow(entry)], cancellationToken);
        }
        catch (Exception e)
        {
            // The offer was counted before the write: give it back whatever stopped the write.
            await directory.ReleaseOfferAsync(specialist.Id, CancellationToken.None);
            if (e is RequestFailedException failed && failed.IsConflict())
            {
                return lastAttempt ? Problems.Of(StatusCodes.Status409Conflict, "The referral changed meanwhile.", "Look at it again, then assign it if it still needs it.") : null;
            }

            throw;
        }

        // As routing does: the specialist's offer email (and the rest the state calls for) goes through the ledger.
        await queues.NotifyAfterHeldBackAsync(referral, cancellationToken);
        await audit.RecordAsync(entry, cancellationToken);
        LogAssigned(id, specialist.Id, keyName, exceeded is not null);
        return TypedResults.Ok(new { id, status = referral.Status, specialistId = referral.AssignedSpecialistId });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} assigned to {SpecialistId} by an operator (key {KeyName}; capacity overridden: {Overridden})")]
    private partial void LogAssigned(string referralId, string specialistId, string keyName, bool overridden);
}
