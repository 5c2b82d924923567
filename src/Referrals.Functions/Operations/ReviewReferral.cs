using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Security;
using Referrals.Functions.Routing;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// The operators' view of a referral, behind the signed link in the alert that it needs attention now. The page, not
/// the email, says why (it shows the urgent mark) and how to reach the person.
/// </summary>
public sealed class ReviewReferral([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals, ReferralLinks links, ILogger<ReviewReferral> logger)
{
    [Function(nameof(ReviewReferral))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "review/referral")] HttpRequest request,
        CancellationToken cancellationToken) =>
        StorageUnavailable.AnswerAsync(request.HttpContext, logger, () => AnswerAsync(request, cancellationToken),
            () => StorageUnavailable.Page(request.HttpContext, "We could not reach this referral just now. Please use the link in the alert again in a minute."));

    private async Task<IResult> AnswerAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var (referral, _, refusal) = await links.OpenAsync(referrals, request, LinkAction.Review,
            "Please use the link in the alert email, or look the referral up in the operations API.", cancellationToken);
        return refusal ?? SignedReferralView.Show(request.HttpContext, referral!);
    }
}
