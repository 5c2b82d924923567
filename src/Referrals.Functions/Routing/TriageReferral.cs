using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Pages;
using Referrals.Core.Security;
using Referrals.Functions.Intake;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>The triage coordinator's view of a referral nobody matched, behind the signed link in their email.</summary>
public sealed class TriageReferral([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals, ReferralLinks links)
{
    [Function(nameof(TriageReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "triage/referral")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var check = links.Verify(request.Query["t"], LinkAction.Triage, out var claims);
        var referral = check == LinkCheck.Valid ? await referrals.FindReferralAsync(claims!.ReferralId, cancellationToken) : null;
        if (referral is null)
        {
            var (status, title) = check switch
            {
                LinkCheck.Expired => (StatusCodes.Status410Gone, "This link has expired"),
                LinkCheck.Invalid => (StatusCodes.Status400BadRequest, "This link is not valid"),
                _ => (StatusCodes.Status404NotFound, "Referral not found"),
            };
            return HtmlPage.Message(request.HttpContext, status, title, "Please use the link in your most recent email.");
        }

        if (referral.IsErased)
        {
            return HtmlPage.Message(request.HttpContext, StatusCodes.Status410Gone, "Referral withdrawn", $"Referral {referral.PartitionKey} was withdrawn or its details erased. Nothing more is needed.");
        }

        // Like a specialist's link, a triage link is bound to the triage it announced: once the referral has left
        // triage (withdrawn, assigned) or moved to another assignment, it shows nothing.
        if (referral.CurrentStatus != Core.Referrals.ReferralStatus.NeedsTriage || referral.Assignment != claims!.Assignment)
        {
            return HtmlPage.Message(request.HttpContext, StatusCodes.Status409Conflict, "No longer in triage",
                $"Referral {referral.PartitionKey} is no longer waiting in triage. Nothing more is needed from this link.");
        }

        var details = referral.ToDetails();
        var nonce = HtmlPage.NewNonce();
        return HtmlPage.Respond(request.HttpContext, SpecialistPages.RenderReferral(details, respondToken: null, "", nonce), nonce);
    }
}
