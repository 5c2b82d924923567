using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations.Dashboard;

/// <summary>
/// The operators' dashboard page. Anonymous because the page holds no data: every call it makes carries the key the
/// operator types in, and each operator route checks it.
/// </summary>
public sealed class GetDashboard
{
    [Function(nameof(GetDashboard))]
    public IResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ops")] HttpRequest request)
    {
        var nonce = HtmlPage.NewNonce();
        var page = HtmlPage.Respond(request.HttpContext, DashboardPage.Render(nonce), nonce);
        // The form's headers, plus the one thing this page does that the form does not: fetch from its own origin.
        request.HttpContext.Response.Headers.ContentSecurityPolicy += "; connect-src 'self'";
        return page;
    }
}
