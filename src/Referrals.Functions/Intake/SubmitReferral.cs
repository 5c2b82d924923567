using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Intake;

/// <summary>
/// Accepts the interest form (form posts and JSON): binds the request, has <see cref="IntakeRequest"/> decide, and
/// turns the answer into a page or a JSON answer. A form post is answered with a redirect to the thank-you page and a
/// signed cookie for it: the reference never travels in a URL.
/// </summary>
public sealed class SubmitReferral(IntakeRequest intake, InterestForm form, ThanksToken thanks, IOptions<WebOptions> web, TimeProvider clock)
{
    [Function(nameof(SubmitReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", "options", Route = "referrals")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var corsAllowed = Cors.Apply(request, web.Value.AllowedOrigins);
        if (HttpMethods.IsOptions(request.Method))
        {
            return corsAllowed ? TypedResults.NoContent() : TypedResults.StatusCode(StatusCodes.Status403Forbidden);
        }

        var (posted, isForm, refusal) = await ReferralBinding.BindAsync(request, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        IntakeAnswer answer;
        try
        {
            answer = await intake.HandleAsync(posted!, isForm, ClientAddress.RateKey(request.HttpContext, web.Value),
                request.Headers["Idempotency-Key"].FirstOrDefault(), cancellationToken);
        }
        catch (Exception e) when (StorageOutage.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            // Storage is away: whether the referral was stored is unknown, so the client retries with the same
            // Idempotency-Key (or form stamp), which answers it either way. Never a 500.
            answer = new IntakeAnswer(IntakeAnswerKind.StorageUnavailable, RetryAfter: StorageUnavailable.RetryAfter);
        }

        if (answer.RetryAfter > TimeSpan.Zero)
        {
            request.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(answer.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return isForm ? FormAnswer(request.HttpContext, posted!, answer) : JsonAnswer(answer);
    }

    private IResult FormAnswer(HttpContext context, ReferralSubmission posted, IntakeAnswer answer)
    {
        IResult Form(int status, IReadOnlyDictionary<string, string[]>? errors = null, FormNotice? notice = null, string? stamp = null) =>
            form.Render(context, posted.FormValues(), errors ?? NoErrors, status, notice, stamp);

        switch (answer.Kind)
        {
            case IntakeAnswerKind.Accepted:
                ThanksCookie.Set(context, thanks, new ThanksNote(answer.ReferralId!, answer.Urgent), clock.GetUtcNow());
                return new SeeOther(InterestForm.ThanksPath);
            case IntakeAnswerKind.Spam:
                return new SeeOther(InterestForm.ThanksPath);
            case IntakeAnswerKind.Invalid:
                return Form(StatusCodes.Status400BadRequest, answer.Errors);
            case IntakeAnswerKind.SendAgain:
                return Form(StatusCodes.Status400BadRequest, notice: FormNotice.SendAgain);
            case IntakeAnswerKind.TooManyFromClient:
                return JsonAnswer(answer); // a connection's limit is no fault of the form: the same problem answer as JSON
            case IntakeAnswerKind.TooManyForEmail:
                return Form(StatusCodes.Status429TooManyRequests, answer.Errors);
            case IntakeAnswerKind.KeyReused:
                return Form(StatusCodes.Status422UnprocessableEntity, notice: FormNotice.AlreadySent);
            default:
                // Stored; the reconciler finishes it. Sending again with the same stamp is answered with it.
                return Form(StatusCodes.Status503ServiceUnavailable,
                    new Dictionary<string, string[]> { [ReferralFields.Form] = ["Something went wrong on our side while sending your request. Please try again in a minute."] },
                    stamp: posted.Stamp);
        }
    }

    private static IResult JsonAnswer(IntakeAnswer answer) => answer.Kind switch
    {
        IntakeAnswerKind.Accepted or IntakeAnswerKind.Spam => Accepted(answer.ReferralId!),
        IntakeAnswerKind.Invalid => Problems.Validation(answer.Errors!, "Some fields need your attention."),
        IntakeAnswerKind.SendAgain => Problems.Of(StatusCodes.Status400BadRequest, "Please send your request again.",
            "The form was sent too soon after it was shown, or too long after. Load the form again if it is old, wait a few seconds and send again."),
        IntakeAnswerKind.TooManyFromClient => Problems.Of(StatusCodes.Status429TooManyRequests, "Too many requests from this connection.", "Please wait a while before sending another request."),
        IntakeAnswerKind.TooManyForEmail => Problems.Of(StatusCodes.Status429TooManyRequests, "Too many requests for this email address today.", IntakeGuards.EmailLimitMessage),
        IntakeAnswerKind.StorageUnavailable => Problems.Of(StatusCodes.Status503ServiceUnavailable, "The service is briefly unavailable.",
            "Please try again in a few seconds with the same Idempotency-Key."),
        IntakeAnswerKind.KeyReused => Problems.Of(StatusCodes.Status422UnprocessableEntity, "This Idempotency-Key was used for a different request.",
            "Send a new request with a new Idempotency-Key; a retry must repeat the original request exactly."),
        _ => Problems.Of(StatusCodes.Status503ServiceUnavailable, "Your request could not be queued.", "Please try again in a minute with the same Idempotency-Key."),
    };

    private static IResult Accepted(string id)
    {
        var statusUrl = $"/api/referrals/{id}";
        return TypedResults.Accepted(statusUrl, new { id, status = PublicStatus.Received, statusUrl });
    }

    private static readonly Dictionary<string, string[]> NoErrors = [];
}
