using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Referrals.Core.Security;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Routing;

/// <summary>
/// Opens the referral behind a read-only signed link (triage, operators' review): the link must be genuine and
/// current, the referral must exist, and an erased one shows nothing. Either the referral or the page that refuses.
/// </summary>
public static class SignedReferralView
{
    public static async Task<(ReferralEntity? Referral, LinkClaims? Claims, IResult? Refusal)> OpenAsync(
        this ReferralLinks links, TableClient referrals, HttpRequest request, LinkAction action, string advice, CancellationToken cancellationToken)
    {
        var check = links.Verify(request.Query["t"], action, out var claims);
        var referral = check == LinkCheck.Valid ? await referrals.FindReferralAsync(claims!.ReferralId, cancellationToken) : null;
        if (referral is null)
        {
            var (status, title) = check switch
            {
                LinkCheck.Expired => (StatusCodes.Status410Gone, "This link has expired"),
                LinkCheck.Invalid => (StatusCodes.Status400BadRequest, "This link is not valid"),
                _ => (StatusCodes.Status404NotFound, "Referral not found"),
            };
            return (null, null, HtmlPage.Message(request.HttpContext, status, title, advice));
        }

        if (referral.IsErased)
        {
            return (null, null, HtmlPage.Message(request.HttpContext, StatusCodes.Status410Gone, "Referral withdrawn",
                $"Referral {referral.PartitionKey} was withdrawn or its details erased. Nothing more is needed."));
        }

        return (referral, claims, null);
    }

    /// <summary>The referral's details, for reading only (no Accept or Decline).</summary>
    public static IResult Show(HttpContext context, ReferralEntity referral)
    {
        var nonce = HtmlPage.NewNonce();
        return HtmlPage.Respond(context, Core.Pages.SpecialistPages.RenderReferral(referral.ToDetails(), respondToken: null, "", nonce), nonce);
    }
}
