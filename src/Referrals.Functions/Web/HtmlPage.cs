using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Referrals.Functions.Web;

/// <summary>Visitor pages: a strict CSP (inline style and script only by nonce), never cached, no referrer.</summary>
internal static class HtmlPage
{
    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary>A short outcome or problem page (link invalid, expired, recorded...).</summary>
    public static IResult Message(HttpContext context, int statusCode, string title, string message)
    {
        var nonce = NewNonce();
        return Respond(context, Core.Pages.SpecialistPages.RenderMessage(title, message, nonce), nonce, statusCode);
    }

    public static IResult Respond(HttpContext context, string html, string nonce, int statusCode = StatusCodes.Status200OK)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy =
            $"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        return TypedResults.Content(html, "text/html; charset=utf-8", Encoding.UTF8, statusCode);
    }
}
