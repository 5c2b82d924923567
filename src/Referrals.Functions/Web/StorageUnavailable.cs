using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Web;

/// <summary>
/// What a visitor or a specialist is answered while storage is away (stopped, restarting, overloaded): a 503 with
/// Retry-After that says to try again, never the host's bare 500. Trying again does no harm: each of these actions
/// reads the referral first and finds whatever it had already written.
/// </summary>
internal static partial class StorageUnavailable
{
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);

    public static async Task<IResult> AnswerAsync(HttpContext context, ILogger logger, Func<Task<IResult>> answer, Func<IResult> unavailable)
    {
        try
        {
            return await answer();
        }
        catch (Exception e) when (StorageOutage.IsTransient(e) && !context.RequestAborted.IsCancellationRequested)
        {
            LogUnavailable(logger, e);
            context.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return unavailable();
        }
    }

    /// <summary>For the JSON APIs.</summary>
    public static IResult Problem() =>
        Problems.Of(StatusCodes.Status503ServiceUnavailable, "The service is briefly unavailable.", "Please try again in a few seconds.");

    /// <summary>For the signed-link pages: <paramref name="message"/> says what could not be reached and which link to use again.</summary>
    public static IResult Page(HttpContext context, string message) =>
        HtmlPage.Message(context, StatusCodes.Status503ServiceUnavailable, "Please try again in a minute", message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage is unavailable; answered 503 with Retry-After")]
    private static partial void LogUnavailable(ILogger logger, Exception exception);
}
