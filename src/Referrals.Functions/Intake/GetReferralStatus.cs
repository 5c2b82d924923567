using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// The status resource behind the 202's Location. Anyone holding the reference may read it, so it shows the status and
/// its history only: no name, email, state or treatment.
/// </summary>
public sealed class GetReferralStatus([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals)
{
    [Function(nameof(GetReferralStatus))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "referrals/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var referral = ReferralId.IsWellFormed(id) ? await referrals.FindReferralAsync(id, cancellationToken) : null;
        if (referral is null)
        {
            return TypedResults.Problem(
                title: "No referral has this reference.",
                detail: "Check the reference in your confirmation email.",
                statusCode: StatusCodes.Status404NotFound);
        }

        var history = await referrals.GetHistoryAsync(id, cancellationToken);
        return TypedResults.Ok(new
        {
            id,
            status = referral.Status,
            history = history.ForDisplay(),
        });
    }
}
