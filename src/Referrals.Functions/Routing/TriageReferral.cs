using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Security;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Routing;

/// <summary>The triage coordinator's view of a referral nobody matched, behind the signed link in their email.</summary>
public sealed class TriageReferral([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals, ReferralLinks links, ILogger<TriageReferral> logger)
{
    [Function(nameof(TriageReferral))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "triage/referral")] HttpRequest request,
        CancellationToken cancellationToken) =>
        StorageUnavailable.AnswerAsync(request.HttpContext, logger, () => AnswerAsync(request, cancellationToken),
            () => StorageUnavailable.Page(request.HttpContext, "We could not reach this referral just now. Please use the link in your email again in a minute."));

    private async Task<IResult> AnswerAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (referral, claims, refusal) = await links.OpenAsync(referrals, request, LinkAction.Triage, "Please use the link in your most recent email.", cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        // Like a specialist's link, a triage link is bound to the triage it announced: once the referral has left
        // triage (withdrawn, assigned) or moved to another assignment, it shows nothing.
        if (referral!.CurrentStatus != Core.Referrals.ReferralStatus.NeedsTriage || referral.Assignment != claims!.Assignment)
        {
            return HtmlPage.Message(request.HttpContext, StatusCodes.Status409Conflict, "No longer in triage",
                $"Referral {referral.PartitionKey} is no longer waiting in triage. Nothing more is needed from this link.");
        }

        return SignedReferralView.Show(request.HttpContext, referral);
    }
}
