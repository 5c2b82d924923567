using Microsoft.AspNetCore.Http;

namespace Referrals.Functions.Web;

/// <summary>303 See Other: after a form post the browser fetches the next page with GET.</summary>
internal sealed class SeeOther(string location) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
        httpContext.Response.Headers.Location = location;
        return Task.CompletedTask;
    }
}
