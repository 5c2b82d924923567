using Microsoft.AspNetCore.Http;

namespace Referrals.Functions.Web;

/// <summary>CORS for the blog's origin only: other origins get no CORS headers, so browsers refuse their scripts.</summary>
internal static class Cors
{
    /// <returns>False when the request names an origin that is not allowed.</returns>
    public static bool Apply(HttpRequest request, IReadOnlyCollection<string> allowedOrigins)
    {
        var origin = request.Headers.Origin.FirstOrDefault();
        if (string.IsNullOrEmpty(origin))
        {
            return true;
        }

        var headers = request.HttpContext.Response.Headers;
        headers.Vary = "Origin";
        if (!allowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return false;
        }

        headers.AccessControlAllowOrigin = origin;
        headers.AccessControlAllowMethods = "POST, OPTIONS";
        headers.AccessControlAllowHeaders = "Content-Type, Idempotency-Key";
        headers.AccessControlExposeHeaders = "Location, Retry-After";
        headers.AccessControlMaxAge = "600";
        return true;
    }
}
