using Microsoft.Extensions.Options;
using Referrals.Core.Security;

namespace Referrals.Functions.Security;

/// <summary>Builds and checks the signed links in emails (specialist, triage, operators, visitor).</summary>
public sealed class ReferralLinks(IOptions<LinkOptions> options, SignedLinks links, TimeProvider clock)
{
    public const string RespondPath = "api/specialist/respond";
    public const string TriagePath = "api/triage/referral";
    public const string WithdrawPath = "api/withdraw";
    public const string ReviewPath = "api/review/referral";

    public string RespondUrl(string referralId, string specialistId, int assignment) =>
        Url(RespondPath, links.Create(new LinkClaims(LinkAction.Respond, referralId, specialistId, assignment, clock.GetUtcNow() + options.Value.LinkLifetime)));

    public string TriageUrl(string referralId, int assignment) =>
        Url(TriagePath, links.Create(new LinkClaims(LinkAction.Triage, referralId, "triage", assignment, clock.GetUtcNow() + options.Value.LinkLifetime)));

    public string WithdrawUrl(string referralId) =>
        Url(WithdrawPath, links.Create(new LinkClaims(LinkAction.Withdraw, referralId, "visitor", 0, clock.GetUtcNow() + options.Value.WithdrawLinkLifetime)));

    /// <summary>For operators, from the alert: not tied to an assignment, so it works whatever routing does meanwhile.</summary>
    public string ReviewUrl(string referralId) =>
        Url(ReviewPath, links.Create(new LinkClaims(LinkAction.Review, referralId, "operators", 0, clock.GetUtcNow() + options.Value.LinkLifetime)));

    public LinkCheck Verify(string? token, LinkAction expected, out LinkClaims? claims)
    {
        var check = links.Verify(token, clock.GetUtcNow(), out claims);
        return check != LinkCheck.Invalid && claims!.Action != expected ? LinkCheck.Invalid : check;
    }

    private string Url(string path, string token) => $"{options.Value.PublicBaseUrl.TrimEnd('/')}/{path}?t={Uri.EscapeDataString(token)}";
}
