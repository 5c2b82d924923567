using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Privacy;

/// <summary>
/// The visitor's signed link from their confirmation: withdraw the request and erase what they told us (see
/// ReferralErasure). GET asks to confirm; only POST acts. The reference, status and dates stay (they hold no personal
/// data) so a specialist's link answers "no longer assigned" instead of failing.
/// </summary>
public sealed partial class WithdrawReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    ReferralLinks links,
    ReferralErasure erasure,
    ILogger<WithdrawReferral> logger)
{
    [Function(nameof(WithdrawReferral))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "withdraw")] HttpRequest request,
        CancellationToken cancellationToken) =>
        StorageUnavailable.AnswerAsync(request.HttpContext, logger, () => AnswerAsync(request, cancellationToken),
            () => StorageUnavailable.Page(request.HttpContext, "We could not reach your request just now. Please use the link again in a minute. If you need support now, you can call or text 988 at any time."));

    private async Task<IResult> AnswerAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var isPost = HttpMethods.IsPost(request.Method);
        string? token = isPost && request.HasFormContentType ? (await request.ReadFormAsync(cancellationToken))["t"] : request.Query["t"];
        var nonce = HtmlPage.NewNonce();
        IResult Page(int status, string title, string message) => HtmlPage.Message(request.HttpContext, status, title, message);

        switch (links.Verify(token, Core.Security.LinkAction.Withdraw, out var claims))
        {
            case Core.Security.LinkCheck.Invalid:
                return Page(StatusCodes.Status400BadRequest, "This link is not valid", "Please use the link in your confirmation email.");
            case Core.Security.LinkCheck.Expired:
                return Page(StatusCodes.Status410Gone, "This link has expired", "Please reply to your confirmation email and we will withdraw your request.");
        }

        var referral = await referrals.FindReferralAsync(claims!.ReferralId, cancellationToken);
        if (referral is null || referral.IsErased)
        {
            if (isPost && referral is { SweepPending: true })
            {
                await erasure.EraseAsync(referral.PartitionKey, Actor.Visitor, VisitorReason, cancellationToken); // finish an interrupted erasure
            }

            return Page(StatusCodes.Status200OK, "Already withdrawn", "Your request has been withdrawn and your details erased. Nothing more is needed.");
        }

        if (!isPost)
        {
            return HtmlPage.Respond(request.HttpContext, SpecialistPages.RenderConfirm(
                $"Withdraw request {referral.PartitionKey}?",
                "We will stop looking for a specialist and erase your name, contact details and everything you told us. This cannot be undone.",
                "/" + ReferralLinks.WithdrawPath, token!, "Withdraw and erase my details", nonce), nonce);
        }

        try
        {
            await erasure.EraseAsync(referral.PartitionKey, Actor.Visitor, VisitorReason, cancellationToken);
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            return Page(StatusCodes.Status409Conflict, "Please try again", "Your request changed while we were withdrawing it. Please open the link again.");
        }

        LogWithdrawn(referral.PartitionKey);
        return Page(StatusCodes.Status200OK, "Your request is withdrawn", "We have erased your details. If you need support, you can call or text 988 at any time.");
    }

    private const string VisitorReason = "Withdrawn by the visitor through the link in their confirmation.";

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} withdrawn by the visitor; details erased")]
    private partial void LogWithdrawn(string referralId);
}
