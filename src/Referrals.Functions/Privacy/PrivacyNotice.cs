using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referrals.Core.Pages;
using Referrals.Functions.Security;
using Referrals.Functions.Web;

namespace Referrals.Functions.Privacy;

/// <summary>The privacy notice the form links to. Its periods come from the same settings the code runs on.</summary>
public sealed class PrivacyNotice(IOptions<RetentionOptions> retention, IOptions<LinkOptions> links)
{
    /// <summary>The notice's address in emails, which leave the site and need it in full.</summary>
    public static string UrlFor(string publicBaseUrl) => publicBaseUrl.TrimEnd('/') + PrivacyPage.Path;

    [Function(nameof(PrivacyNotice))]
    public IResult Show([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "privacy")] HttpRequest request)
    {
        var facts = new PrivacyFacts(
            retention.Value.PersonalData,
            retention.Value.EmailRecords,
            retention.Value.PoisonMessages,
            retention.Value.LinkClicks,
            links.Value.LinkLifetime,
            links.Value.WithdrawLinkLifetime);
        var nonce = HtmlPage.NewNonce();
        return HtmlPage.Respond(request.HttpContext, PrivacyPage.Render(facts, nonce), nonce);
    }
}
