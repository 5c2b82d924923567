using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Intake;

/// <summary>
/// The status resource behind the 202's Location. Anyone holding the reference may read it, so it holds a coarse
/// status word (<see cref="PublicStatus"/>) and dates only: no history text, reasons, specialist ids or flags. A
/// duplicate's stub reads exactly like a new referral. Operators have GET /api/ops/referrals/{id}/routing.
/// </summary>
public sealed class GetReferralStatus([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals, ILogger<GetReferralStatus> logger)
{
    [Function(nameof(GetReferralStatus))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "referrals/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        StorageUnavailable.AnswerAsync(request.HttpContext, logger, () => AnswerAsync(id, cancellationToken), StorageUnavailable.Problem);

    private async Task<IResult> AnswerAsync(string id, CancellationToken cancellationToken)
    {
        var referral = ReferralId.IsWellFormed(id) ? await referrals.FindReferralAsync(id, cancellationToken) : null;
        if (referral is null)
        {
            return Problems.NotFound("No referral has this reference.", "Check the reference in your confirmation email.");
        }

        var before = Enum.TryParse<ReferralStatus>(referral.StatusBeforeFailure, out var b) ? b : (ReferralStatus?)null;
        var status = PublicStatus.Of(referral.CurrentStatus, before);

        // "received" has not changed since it was received; only a later word needs the history for its date.
        var changedAt = status == PublicStatus.Received
            ? referral.ReceivedAt
            : PublicStatus.ChangedAt(await referrals.GetHistoryAsync(id, cancellationToken), referral.Timestamp ?? referral.ReceivedAt);
        return TypedResults.Ok(new { id, status, receivedAt = referral.ReceivedAt, changedAt });
    }
}
