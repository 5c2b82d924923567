using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Pages;
using Referrals.Core.Security;
using Referrals.Functions.Intake;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations;

/// <summary>
/// The operators' view of a referral, behind the signed link in the alert that it needs attention now. The page, not
/// the email, says why (it shows the urgent mark) and how to reach the person.
/// </summary>
public sealed class ReviewReferral([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals, ReferralLinks links)
{
    [Function(nameof(ReviewReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "review/referral")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var check = links.Verify(request.Query["t"], LinkAction.Review, out var claims);
        var referral = check == LinkCheck.Valid ? await referrals.FindReferralAsync(claims!.ReferralId, cancellationToken) : null;
        if (referral is null)
        {
            var (status, title) = check switch
            {
                LinkCheck.Expired => (StatusCodes.Status410Gone, "This link has expired"),
                LinkCheck.Invalid => (StatusCodes.Status400BadRequest, "This link is not valid"),
                _ => (StatusCodes.Status404NotFound, "Referral not found"),
            };
            return HtmlPage.Message(request.HttpContext, status, title, "Please use the link in the alert email, or look the referral up in the operations API.");
        }

        var nonce = HtmlPage.NewNonce();
        return HtmlPage.Respond(request.HttpContext, SpecialistPages.RenderReferral(referral.ToDetails(), respondToken: null, "", nonce), nonce);
    }
}
