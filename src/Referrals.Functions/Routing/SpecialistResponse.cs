using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Routing;

/// <summary>
/// The specialist's side of the loop, behind the signed link in their email. GET shows the referral with Accept and
/// Decline; only POST acts, so mail scanners that follow links change nothing. Each link acts once.
/// </summary>
public sealed partial class SpecialistResponse(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    PipelineQueues queues,
    ReferralLinks links,
    ReferralRouter router,
    SpecialistDirectory directory,
    TimeProvider clock,
    ILogger<SpecialistResponse> logger)
{
    [Function(nameof(SpecialistResponse))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "specialist/respond")] HttpRequest request,
        CancellationToken cancellationToken) =>
        StorageUnavailable.AnswerAsync(request.HttpContext, logger, () => AnswerAsync(request, cancellationToken),
            () => StorageUnavailable.Page(request.HttpContext, "We could not reach this referral just now. Please use the link in your email again in a minute."));

    private async Task<IResult> AnswerAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var isPost = HttpMethods.IsPost(request.Method);
        var form = isPost && request.HasFormContentType ? await request.ReadFormAsync(cancellationToken) : null;
        string? token = isPost ? form?["t"] : request.Query["t"];
        var nonce = HtmlPage.NewNonce();
        IResult Page(int status, string title, string message) => HtmlPage.Message(request.HttpContext, status, title, message);

        switch (links.Verify(token, LinkAction.Respond, out var claims))
        {
            case LinkCheck.Invalid:
                return Page(StatusCodes.Status400BadRequest, "This link is not valid", "The link may have been copied incompletely. Please use the link in your email, or contact the referral coordinator.");
            case LinkCheck.Expired:
                return Page(StatusCodes.Status410Gone, "This link has expired", "Links in referral emails work for a limited time. Please contact the referral coordinator.");
        }

        var referral = await referrals.FindReferralAsync(claims!.ReferralId, cancellationToken);
        if (referral is null)
        {
            return Page(StatusCodes.Status404NotFound, "Referral not found", "This referral no longer exists; its data may have been deleted under the retention policy.");
        }

        var current = referral.AssignedSpecialistId == claims.Subject && referral.Assignment == claims.Assignment;
        if (current && referral.CurrentStatus == ReferralStatus.Accepted)
        {
            return Page(StatusCodes.Status200OK, "Already recorded", $"You accepted referral {referral.PartitionKey}. Nothing more is needed.");
        }

        if (!current && referral.ExcludedIds.Contains(claims.Subject))
        {
            return Page(StatusCodes.Status200OK, "Already recorded", $"You declined referral {referral.PartitionKey}, or it passed to someone else after no answer. Nothing more is needed.");
        }

        if (!current || referral.CurrentStatus is not (ReferralStatus.Routed or ReferralStatus.Notified))
        {
            return Page(StatusCodes.Status409Conflict, "No longer assigned to you", $"Referral {referral.PartitionKey} is {referral.Status} and no longer waiting for your answer.");
        }

        if (!isPost)
        {
            var details = referral.ToDetails();
            return HtmlPage.Respond(request.HttpContext, SpecialistPages.RenderReferral(details, token, "/" + ReferralLinks.RespondPath, nonce), nonce);
        }

        try
        {
            switch (form?["decision"].ToString())
            {
                case "accept":
                    var acceptedAt = clock.GetUtcNow();
                    var accepted = referral.ToCase();
                    accepted.Accept(claims.Subject, claims.Assignment, acceptedAt);
                    await queues.NotifyLaterAsync(referral, cancellationToken);
                    await referrals.SaveAsync(referral, accepted, cancellationToken);
                    await queues.NotifyAfterHeldBackAsync(referral, cancellationToken);
                    await directory.AcceptOfferAsync(claims.Subject, acceptedAt, cancellationToken);
                    LogAnswered(referral.PartitionKey, claims.Subject, "accepted");
                    return Page(StatusCodes.Status200OK, "Thank you: accepted", $"Referral {referral.PartitionKey} is yours. The person has been told that you will contact them.");
                case "decline":
                    var reason = SpecialistPages.DeclineReasons.FirstOrDefault(r => r.Code == form["reason"].ToString());
                    if (reason.Code is null)
                    {
                        return Page(StatusCodes.Status400BadRequest, "Choose a reason", "Please go back and choose why you are declining, so that we can route better next time.");
                    }

                    var declined = referral.ToCase();
                    declined.Decline(claims.Subject, claims.Assignment, reason.Label);
                    await queues.NotifyLaterAsync(referral, cancellationToken);
                    await router.RerouteAsync(referral, declined, cancellationToken);
                    LogAnswered(referral.PartitionKey, claims.Subject, "declined");
                    return Page(StatusCodes.Status200OK, "Thank you: declined", $"Referral {referral.PartitionKey} will be offered to another specialist.");
                default:
                    return Page(StatusCodes.Status400BadRequest, "Choose accept or decline", "Please go back and use one of the buttons.");
            }
        }
        catch (RequestFailedException e) when (e.IsConflict())
        {
            // Two answers at once, or an answer racing the SLA timer: the first one won.
            return Page(StatusCodes.Status409Conflict, "Already changed", "This referral changed while you were answering. Please open the link again to see where it stands.");
        }
        catch (Exception e) when (e is InvalidStatusTransitionException or OfferNotOpenException)
        {
            return Page(StatusCodes.Status409Conflict, "Not possible now", e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} {Answer} by specialist {SpecialistId}")]
    private partial void LogAnswered(string referralId, string specialistId, string answer);
}
