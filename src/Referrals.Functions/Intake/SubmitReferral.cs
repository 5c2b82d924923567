using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;
using Referrals.Core.Security;

namespace Referrals.Functions.Intake;

/// <summary>
/// Accepts the interest form (form posts and JSON): reads and validates the request, has <see cref="IntakeService"/>
/// record it, and turns the outcome into a page or a JSON answer. A form post is answered with a redirect to the
/// thank-you page and a signed cookie for it: the reference never travels in a URL.
/// </summary>
public sealed partial class SubmitReferral(
    IntakeService intake,
    IntakeGuards guards,
    InterestForm form,
    FormStamp stamps,
    ThanksToken thanks,
    KeyedHash hash,
    IOptions<IntakeOptions> options,
    TimeProvider clock,
    ILogger<SubmitReferral> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip };

    [Function(nameof(SubmitReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", "options", Route = "referrals")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var corsAllowed = Cors.Apply(request, options.Value.AllowedOrigins);
        if (HttpMethods.IsOptions(request.Method))
        {
            return corsAllowed ? TypedResults.NoContent() : TypedResults.StatusCode(StatusCodes.Status403Forbidden);
        }

        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value : null;
        var isForm = string.Equals(mediaType, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        var isJson = string.Equals(mediaType, "application/json", StringComparison.OrdinalIgnoreCase);
        if (!isForm && !isJson)
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported content type.", "Send application/json or application/x-www-form-urlencoded.");
        }

        var body = await ReadLimitedAsync(request, cancellationToken);
        if (body is null)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "The request is too large.", $"Send at most {IntakeOptions.MaxBodyBytes / 1024} KB.");
        }

        PostedReferral posted;
        if (isForm)
        {
            posted = PostedReferral.FromForm(QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)));
        }
        else
        {
            try
            {
                posted = JsonSerializer.Deserialize<PostedReferral>(body, Json) ?? throw new JsonException("null body");
            }
            catch (JsonException)
            {
                return Problem(StatusCodes.Status400BadRequest, "The request body is not valid JSON.",
                    "Send a JSON object with name, email, state, treatment, consent, privacyAcknowledged and adult.");
            }
        }

        var now = clock.GetUtcNow();
        var stamp = posted.Stamp is null && !isForm ? null : stamps.Check(posted.Stamp, now, options.Value.MinimumFillTime, options.Value.StampLifetime);
        if (!string.IsNullOrEmpty(posted.Website) || stamp?.Check == StampCheck.Invalid)
        {
            // Only a filled honeypot or a forged stamp: look like success to the sender; nothing is stored, routed or emailed.
            var spamReason = stamp?.Check == StampCheck.Invalid ? "bad-stamp" : "honeypot";
            await guards.CountSpamAsync(spamReason, cancellationToken);
            LogSpam(spamReason);
            return isForm ? new SeeOther(InterestForm.ThanksPath) : AcceptedJson(ReferralId.New());
        }

        var outcome = ReferralValidator.Validate(posted.ToSubmission());
        if (!outcome.IsValid)
        {
            return isForm
                ? form.Render(request.HttpContext, posted.FormValues(), outcome.Errors, StatusCodes.Status400BadRequest)
                : TypedResults.ValidationProblem(outcome.Errors, title: "Some fields need your attention.");
        }

        if (stamp?.Check is StampCheck.TooFast or StampCheck.Expired)
        {
            // A person (autofill and a quick tap, or a form left open): never dropped, asked to send again.
            LogSendAgain(stamp.Check);
            return isForm
                ? form.Render(request.HttpContext, posted.FormValues(), NoErrors, StatusCodes.Status400BadRequest, FormNotice.SendAgain)
                : Problem(StatusCodes.Status400BadRequest, "Please send your request again.",
                    "The form was sent too soon after it was shown, or too long after. Load the form again if it is old, wait a few seconds and send again.");
        }

        var clientHash = hash.Of("client", Web.ClientAddress.RateKey(request.HttpContext, options.Value));
        var rate = await guards.CountSubmissionAsync(clientHash, cancellationToken);
        if (!rate.Allowed)
        {
            request.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(rate.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status429TooManyRequests, "Too many requests from this connection.", "Please wait a while before sending another request.");
        }

        var perEmail = await guards.CountEmailSubmissionAsync(IntakeKeys.EmailLimit(hash, outcome.Referral!.Email), cancellationToken);
        if (!perEmail.Allowed)
        {
            request.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(perEmail.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return isForm
                ? form.Render(request.HttpContext, posted.FormValues(), new Dictionary<string, string[]> { ["email"] = [IntakeGuards.EmailLimitMessage] }, StatusCodes.Status429TooManyRequests)
                : Problem(StatusCodes.Status429TooManyRequests, "Too many requests for this email address today.", IntakeGuards.EmailLimitMessage);
        }

        // A form's stamp is bound to one submission: its id is the idempotency key (double clicks, the back button).
        var key = request.Headers["Idempotency-Key"].FirstOrDefault() is { Length: > 0 } header ? header
            : stamp?.Id is { } stampId ? "stamp:" + stampId : null;
        var valid = outcome.Referral!;
        var result = await intake.SubmitAsync(valid, clientHash, key, guards.MayConfirm(perEmail.Count), cancellationToken);
        switch (result.Result)
        {
            case IntakeResult.Accepted when isForm:
                ThanksCookie.Set(request.HttpContext, thanks, new ThanksNote(result.ReferralId!, valid.Urgent), now);
                return new SeeOther(InterestForm.ThanksPath);
            case IntakeResult.Accepted:
                return AcceptedJson(result.ReferralId!);
            case IntakeResult.KeyReused:
                return isForm
                    ? form.Render(request.HttpContext, posted.FormValues(), NoErrors, StatusCodes.Status422UnprocessableEntity, FormNotice.AlreadySent)
                    : Problem(StatusCodes.Status422UnprocessableEntity, "This Idempotency-Key was used for a different request.",
                        "Send a new request with a new Idempotency-Key; a retry must repeat the original request exactly.");
            default:
                // Stored; the reconciler finishes it. Sending again (same key, or the same stamp on the form) is answered with it.
                request.HttpContext.Response.Headers.RetryAfter = "30";
                return isForm
                    ? form.Render(request.HttpContext, posted.FormValues(),
                        new Dictionary<string, string[]> { ["form"] = ["Something went wrong on our side while sending your request. Please try again in a minute."] },
                        StatusCodes.Status503ServiceUnavailable, stamp: posted.Stamp)
                    : Problem(StatusCodes.Status503ServiceUnavailable, "Your request could not be queued.", "Please try again in a minute with the same Idempotency-Key.");
        }
    }

    private static readonly Dictionary<string, string[]> NoErrors = [];

    private static IResult AcceptedJson(string id)
    {
        var statusUrl = $"/api/referrals/{id}";
        return TypedResults.Accepted(statusUrl, new { id, status = PublicStatus.Received, statusUrl });
    }

    private static IResult Problem(int status, string title, string detail) => TypedResults.Problem(title: title, detail: detail, statusCode: status);

    private static async Task<byte[]?> ReadLimitedAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > IntakeOptions.MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > IntakeOptions.MaxBodyBytes)
            {
                return null;
            }
        }

        return buffer.ToArray();
    }

    /// <summary>303 See Other: after a form post the browser fetches the thank-you page with GET.</summary>
    private sealed class SeeOther(string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
            httpContext.Response.Headers.Location = location;
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission dropped as spam ({Reason})")]
    private partial void LogSpam(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Form sent back to be sent again ({Check})")]
    private partial void LogSendAgain(StampCheck check);
}
