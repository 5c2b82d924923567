using Microsoft.AspNetCore.Http;
using Referrals.Core.Security;

namespace Referrals.Functions.Intake;

/// <summary>
/// Carries the reference and the crisis flag from the form post to the thank-you page, never in the URL (URLs get
/// logged and shared). Signed, short-lived, sent only to the thank-you page, unreadable by scripts.
/// </summary>
internal static class ThanksCookie
{
    public const string Name = "referral-thanks";

    public static void Set(HttpContext context, ThanksToken token, ThanksNote note, DateTimeOffset now) =>
        context.Response.Cookies.Append(Name, token.Create(note, now + IntakeOptions.ThanksLifetime), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Path = InterestForm.ThanksPath,
            Secure = context.Request.IsHttps,
            MaxAge = IntakeOptions.ThanksLifetime,
            IsEssential = true,
        });

    public static ThanksNote? Read(HttpRequest request, ThanksToken token, DateTimeOffset now) =>
        token.Read(request.Cookies[Name], now);
}
