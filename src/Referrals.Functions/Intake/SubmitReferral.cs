using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// Accepts the interest form (form posts and JSON): validates, records the referral, queues it for routing and
/// answers at once with the reference. The success answer is only sent once the referral is both stored and queued.
/// </summary>
public sealed partial class SubmitReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    PipelineQueues queues,
    IntakeMetrics metrics,
    IntakeGuards guards,
    InterestForm form,
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

        Posted posted;
        if (isForm)
        {
            posted = Posted.FromForm(QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)));
        }
        else
        {
            try
            {
                posted = JsonSerializer.Deserialize<Posted>(body, Json) ?? throw new JsonException("null body");
            }
            catch (JsonException)
            {
                return Problem(StatusCodes.Status400BadRequest, "The request body is not valid JSON.",
                    "Send a JSON object with name, email, state, treatment, consent, privacyAcknowledged and adult.");
            }
        }

        if (SpamReason(posted, stampRequired: isForm) is { } spamReason)
        {
            // Look like success to the sender; nothing is stored, routed or emailed.
            await guards.CountSpamAsync(spamReason, cancellationToken);
            LogSpam(spamReason);
            return isForm ? new SeeOther(InterestForm.ThanksPath) : Accepted(ReferralId.New(), isForm: false);
        }

        var outcome = ReferralValidator.Validate(posted.ToSubmission());
        if (!outcome.IsValid)
        {
            return isForm
                ? form.Render(request.HttpContext, posted.FormValues(), outcome.Errors, StatusCodes.Status400BadRequest)
                : TypedResults.ValidationProblem(outcome.Errors, title: "Some fields need your attention.");
        }

        var hash = options.Value.Hash();
        var client = Web.ClientAddress.RateKey(request.HttpContext, options.Value);
        var rate = await guards.CountSubmissionAsync(hash.Of("client", client), cancellationToken);
        if (!rate.Allowed)
        {
            request.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(rate.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status429TooManyRequests, "Too many requests from this connection.", "Please wait a while before sending another request.");
        }

        var perEmail = await guards.CountEmailSubmissionAsync(IntakeGuards.EmailLimitKey(hash, outcome.Referral!.Email), cancellationToken);
        if (!perEmail.Allowed)
        {
            request.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(perEmail.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return isForm
                ? form.Render(request.HttpContext, posted.FormValues(), new Dictionary<string, string[]> { ["email"] = [IntakeGuards.EmailLimitMessage] }, StatusCodes.Status429TooManyRequests)
                : Problem(StatusCodes.Status429TooManyRequests, "Too many requests for this email address today.", IntakeGuards.EmailLimitMessage);
        }

        var valid = outcome.Referral!;
        var id = ReferralId.New();
        if (request.Headers["Idempotency-Key"].FirstOrDefault() is { Length: > 0 } key
            && await guards.ClaimIdempotencyKeyAsync(hash.Of("idempotency", key), id, cancellationToken) is { } replayed)
        {
            return Accepted(replayed, isForm);
        }

        if (await guards.ClaimDedupeAsync(hash.Of("dedupe", $"{valid.Email.ToLowerInvariant()}|{valid.Treatment}"), id, cancellationToken) is { } existing)
        {
            LogDuplicate(existing);
            return Accepted(existing, isForm);
        }

        var now = clock.GetUtcNow();
        await referrals.AddNewAsync(
            ReferralEntity.From(id, valid, now),
            new StatusChange(ReferralStatus.Received, now, Actor.Visitor, "Submitted the interest form."),
            cancellationToken);
        try
        {
            await queues.RouteAsync(id, valid.Urgent, cancellationToken);
        }
        catch (RequestFailedException e)
        {
            // Recorded but not queued: the reconciler queues it; the visitor is told to retry, and a retry finds it.
            LogNotQueued(e, id);
            request.HttpContext.Response.Headers.RetryAfter = "30";
            return isForm
                ? form.Render(request.HttpContext, posted.FormValues(),
                    new Dictionary<string, string[]> { ["form"] = ["Something went wrong on our side while sending your request. Please try again in a minute."] },
                    StatusCodes.Status503ServiceUnavailable)
                : Problem(StatusCodes.Status503ServiceUnavailable, "Your request could not be queued.", "Please try again in a minute.");
        }

        LogAccepted(id);
        metrics.Accepted(valid.Urgent);
        return Accepted(id, isForm);
    }

    private string? SpamReason(Posted posted, bool stampRequired)
    {
        if (!string.IsNullOrEmpty(posted.Website))
        {
            return "honeypot";
        }

        if (posted.Stamp is null && !stampRequired)
        {
            return null;
        }

        return options.Value.Stamp().Check(posted.Stamp, clock.GetUtcNow(), options.Value.MinimumFillTime) switch
        {
            StampCheck.TooFast => "too-fast",
            StampCheck.Invalid => "bad-stamp",
            _ => null,
        };
    }

    private static IResult Accepted(string id, bool isForm)
    {
        if (isForm)
        {
            return new SeeOther($"{InterestForm.ThanksPath}?ref={id}");
        }

        var statusUrl = $"/api/referrals/{id}";
        return TypedResults.Accepted(statusUrl, new { id, status = nameof(ReferralStatus.Received), statusUrl });
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

    /// <summary>The posted fields, from either content type, before validation.</summary>
    internal sealed record Posted(
        string? Name, string? Email, string? Phone, string? State, string? Treatment, string? ContactMethod, string? Insurance,
        string? Message, bool? Consent, bool? PrivacyAcknowledged, bool? Adult, bool? Urgent, string? Topic, string? Post,
        Dictionary<string, string>? Utm, string? Website, string? Stamp, string? Language = null, string? VisitPreference = null)
    {
        public static Posted FromForm(Dictionary<string, Microsoft.Extensions.Primitives.StringValues> form)
        {
            string? V(string name) => form.TryGetValue(name, out var v) ? v.ToString() : null;
            bool C(string name) => InterestPages.IsChecked(V(name));
            var utm = SourceAttribution.UtmKeys.Where(k => !string.IsNullOrEmpty(V(k))).ToDictionary(k => k, k => V(k)!);
            return new Posted(V("name"), V("email"), V("phone"), V("state"), V("treatment"), V("contactMethod"), V("insurance"),
                V("message"), C("consent"), C("privacyAcknowledged"), C("adult"), C("urgent"), V("topic"), V("post"), utm,
                V(InterestPages.HoneypotField), V(InterestPages.StampField), V("language"), V("visitPreference"));
        }

        public ReferralSubmission ToSubmission() =>
            new(Name, Email, State, Treatment, Consent, Phone, ContactMethod, Insurance, Message, PrivacyAcknowledged, Adult, Urgent, Topic, Post, Utm, Language, VisitPreference);

        /// <summary>The values to show again on the form, so a visitor never has to retype them.</summary>
        public Dictionary<string, string?> FormValues()
        {
            var values = new Dictionary<string, string?>
            {
                ["name"] = Name, ["email"] = Email, ["phone"] = Phone, ["state"] = State, ["treatment"] = Treatment,
                ["contactMethod"] = ContactMethod, ["insurance"] = Insurance, ["message"] = Message,
                ["consent"] = Consent == true ? "yes" : null, ["privacyAcknowledged"] = PrivacyAcknowledged == true ? "yes" : null,
                ["adult"] = Adult == true ? "yes" : null, ["urgent"] = Urgent == true ? "yes" : null,
                ["topic"] = Topic, ["post"] = Post, ["language"] = Language, ["visitPreference"] = VisitPreference,
            };
            foreach (var (key, value) in Utm ?? [])
            {
                values[key] = value;
            }

            return values;
        }
    }

    // Never the urgent flag next to the id: urgent submissions are counted by IntakeMetrics, without ids.
    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} received and queued for routing")]
    private partial void LogAccepted(string referralId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Repeat submission answered with existing referral {ReferralId}")]
    private partial void LogDuplicate(string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission dropped as spam ({Reason})")]
    private partial void LogSpam(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Referral {ReferralId} was stored but could not be queued; the reconciler will queue it")]
    private partial void LogNotQueued(Exception exception, string referralId);
}
