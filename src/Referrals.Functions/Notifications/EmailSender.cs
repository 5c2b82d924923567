using System.Net;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using SendGrid;
using SendGrid.Helpers.Mail;

namespace Referrals.Functions.Notifications;

/// <summary>Turns an <see cref="EmailMessage"/> into a SendGrid request and fails loudly unless SendGrid accepted it.</summary>
public sealed class EmailSender(ISendGridClient client, IOptions<EmailOptions> options, TimeProvider clock)
{
    public const string HttpClientName = "sendgrid";

    /// <returns>SendGrid's message id, for matching delivery events later.</returns>
    public Task<string?> SendAsync(EmailMessage email, CancellationToken cancellationToken) => SendAsync(email, null, cancellationToken);

    /// <param name="customArgs">Ids only (they show in SendGrid's dashboards and come back on every delivery event).</param>
    /// <exception cref="SendOutcomeUnknownException">The request may have reached SendGrid (a timeout, a connection lost).</exception>
    public async Task<string?> SendAsync(EmailMessage email, IReadOnlyDictionary<string, string>? customArgs, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var message = new SendGridMessage { From = new EmailAddress(settings.FromAddress, DisplayName.Clean(settings.FromName)) };
        message.AddTo(new EmailAddress(email.ToAddress, DisplayName.Clean(email.ToName)));
        if (settings.Templates.TryGetValue(email.Kind.ToString(), out var templateId) && !string.IsNullOrEmpty(templateId))
        {
            // A dynamic template wraps our content in the clinic's layout; the words stay in the repo's templates.
            message.SetTemplateId(templateId);
            message.SetTemplateData(new { subject = email.Subject, html = email.Html, text = email.Text });
        }
        else
        {
            message.Subject = email.Subject;
            message.PlainTextContent = email.Text;
            message.HtmlContent = email.Html;
        }

        if (!string.IsNullOrEmpty(settings.ReplyToAddress))
        {
            message.SetReplyTo(new EmailAddress(settings.ReplyToAddress));
        }

        if (settings.SandboxMode)
        {
            message.SetSandBoxMode(true);
        }

        // Tracking would rewrite our signed links through SendGrid's redirect (and log them there) and add a pixel.
        message.SetClickTracking(false, false);
        message.SetOpenTracking(false);

        // Categories and custom_args show in SendGrid's dashboards and are not PII-safe: the kind and ids are all they get.
        message.AddCategory(email.Kind.ToString());
        foreach (var (name, value) in customArgs ?? new Dictionary<string, string>())
        {
            message.AddCustomArg(name, value);
        }

        Response response;
        try
        {
            response = await client.SendEmailAsync(message, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && SendGridResilience.MayHaveBeenSent(e))
        {
            throw new SendOutcomeUnknownException(email.Kind, e);
        }

        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var now = clock.GetUtcNow();
            using var probe = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
            foreach (var header in response.Headers)
            {
                probe.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            throw new SendGridRateLimitedException(SendGridResilience.RateLimitResetAt(probe, now) ?? now.AddMinutes(1));
        }

        if (response.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.OK))
        {
            throw new EmailNotAcceptedException(email.Kind, response.StatusCode);
        }

        return response.Headers.TryGetValues("X-Message-Id", out var ids) ? ids.FirstOrDefault() : null;
    }
}

/// <summary>The request may or may not have reached SendGrid: resending at once could send the email twice.</summary>
public sealed class SendOutcomeUnknownException(EmailKind kind, Exception inner)
    : Exception($"The {kind} email may or may not have been accepted by SendGrid.", inner);

public sealed class EmailNotAcceptedException(EmailKind kind, HttpStatusCode status)
    : Exception($"SendGrid did not accept the {kind} email: HTTP {(int)status}.");

/// <summary>Not a failure: the work can only be done at <see cref="At"/> (a rate limit's reset, or a claim's expiry).</summary>
public class ComeBackLaterException(DateTimeOffset at, string message) : Exception(message)
{
    public ComeBackLaterException(DateTimeOffset at)
        : this(at, $"Come back at {at:u}.")
    {
    }

    public DateTimeOffset At { get; } = at;
}

/// <summary>SendGrid is rate limiting us until the reset; sending earlier would only be refused again.</summary>
public sealed class SendGridRateLimitedException(DateTimeOffset resetAt)
    : ComeBackLaterException(resetAt, $"SendGrid is rate limiting until {resetAt:u}.");
