using System.Text;
using Microsoft.Extensions.Options;
using Referrals.Core.Security;
using Referrals.Functions.Intake;

namespace Referrals.Functions.Routing;

/// <summary>Builds and checks the signed links in emails. They share the intake's secret, under their own purpose.</summary>
public sealed class ReferralLinks(IOptions<RoutingOptions> routing, IOptions<IntakeOptions> intake, TimeProvider clock)
{
    public const string RespondPath = "api/specialist/respond";
    public const string TriagePath = "api/triage/referral";
    public const string WithdrawPath = "api/withdraw";
    public const string ReviewPath = "api/review/referral";

    private SignedLinks Links => new(Encoding.UTF8.GetBytes(intake.Value.SecretKey));

    public string RespondUrl(string referralId, string specialistId, int assignment) =>
        Url(RespondPath, Links.Create(new LinkClaims(LinkAction.Respond, referralId, specialistId, assignment, clock.GetUtcNow() + routing.Value.LinkLifetime)));

    public string TriageUrl(string referralId, int assignment) =>
        Url(TriagePath, Links.Create(new LinkClaims(LinkAction.Triage, referralId, "triage", assignment, clock.GetUtcNow() + routing.Value.LinkLifetime)));

    public string WithdrawUrl(string referralId) =>
        Url(WithdrawPath, Links.Create(new LinkClaims(LinkAction.Withdraw, referralId, "visitor", 0, clock.GetUtcNow() + routing.Value.WithdrawLinkLifetime)));

    /// <summary>For operators, from the alert: not tied to an assignment, so it works whatever routing does meanwhile.</summary>
    public string ReviewUrl(string referralId) =>
        Url(ReviewPath, Links.Create(new LinkClaims(LinkAction.Review, referralId, "operators", 0, clock.GetUtcNow() + routing.Value.LinkLifetime)));

    public LinkCheck Verify(string? token, LinkAction expected, out LinkClaims? claims)
    {
        var check = Links.Verify(token, clock.GetUtcNow(), out claims);
        return check != LinkCheck.Invalid && claims!.Action != expected ? LinkCheck.Invalid : check;
    }

    private string Url(string path, string token) => $"{routing.Value.PublicBaseUrl.TrimEnd('/')}/{path}?t={Uri.EscapeDataString(token)}";
}
