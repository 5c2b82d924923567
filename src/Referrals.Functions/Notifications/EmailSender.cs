using System.Net;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using SendGrid;
using SendGrid.Helpers.Mail;

namespace Referrals.Functions.Notifications;

/// <summary>Turns an <see cref="EmailMessage"/> into a SendGrid request and fails loudly unless SendGrid accepted it.</summary>
public sealed class EmailSender(ISendGridClient client, IOptions<EmailOptions> options)
{
    public const string HttpClientName = "sendgrid";

    /// <returns>SendGrid's message id, for correlating delivery events later.</returns>
    public async Task<string?> SendAsync(EmailMessage email, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var message = new SendGridMessage
        {
            From = new EmailAddress(settings.FromAddress, settings.FromName),
            Subject = email.Subject,
            PlainTextContent = email.Text,
            HtmlContent = email.Html,
        };
        message.AddTo(new EmailAddress(email.ToAddress, email.ToName));
        // Categories are visible in SendGrid's dashboards and not PII-safe: the kind is all they get.
        message.AddCategory(email.Kind.ToString());

        var response = await client.SendEmailAsync(message, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted && response.StatusCode != HttpStatusCode.OK)
        {
            throw new EmailNotAcceptedException(email.Kind, response.StatusCode);
        }

        return response.Headers.TryGetValues("X-Message-Id", out var ids) ? ids.FirstOrDefault() : null;
    }
}

public sealed class EmailNotAcceptedException(EmailKind kind, HttpStatusCode status)
    : Exception($"SendGrid did not accept the {kind} email: HTTP {(int)status}.");
