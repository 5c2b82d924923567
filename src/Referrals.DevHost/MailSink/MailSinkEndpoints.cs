using System.Net;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Referrals.DevHost.MailSink;

/// <summary>
/// A local stand-in for SendGrid's v3 mail/send API at {base}/sendgrid, and a page to read what was "sent".
/// The app reaches it only through its configured SendGrid host.
/// </summary>
public static class MailSinkEndpoints
{
    public const string SendGridBasePath = "/sendgrid";
    public const string ViewerPath = "/mail";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(SendGridBasePath + "/v3/mail/send", async (HttpContext context, MailStore store, IConfiguration configuration) =>
        {
            var expectedKey = configuration["Email:SendGridApiKey"];
            var auth = context.Request.Headers.Authorization.ToString();
            if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || string.IsNullOrEmpty(expectedKey) || auth["Bearer ".Length..] != expectedKey)
            {
                return Results.Json(SendGridPayload.ErrorBody([new("The provided authorization grant is invalid, expired, or revoked", null)]), statusCode: 401);
            }

            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var payload = SendGridPayload.Parse(await reader.ReadToEndAsync(context.RequestAborted));
            if (payload is null)
            {
                return Results.Json(SendGridPayload.ErrorBody([new("Bad Request", null)]), statusCode: 400);
            }

            var errors = SendGridPayload.Validate(payload);
            if (errors.Count > 0)
            {
                return Results.Json(SendGridPayload.ErrorBody(errors), statusCode: 400);
            }

            var mail = SendGridPayload.Store(store, payload);
            context.Response.Headers["X-Message-Id"] = new StringValues(mail.MessageId);
            return Results.StatusCode(StatusCodes.Status202Accepted);
        });

        endpoints.MapGet(ViewerPath + "/messages", (MailStore store) => Results.Json(store.Newest().Select(m => new
        {
            m.MessageId,
            m.ReceivedAt,
            m.From,
            m.To,
            m.Subject,
            m.Text,
            m.Html,
            m.Categories,
            m.Payload,
        })));
        endpoints.MapDelete(ViewerPath + "/messages", (MailStore store) =>
        {
            store.Clear();
            return Results.NoContent();
        });
        endpoints.MapGet(ViewerPath, (MailStore store) => Results.Content(RenderPage(store.Newest()), "text/html; charset=utf-8"));
    }

    private static string RenderPage(IReadOnlyList<SinkMail> mails)
    {
        var html = new StringBuilder();
        html.Append("""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="5">
            <title>Local mail sink</title>
            <style>
              body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1b1b1b}
              article{border:1px solid #ccc;border-radius:.5rem;padding:1rem;margin:1rem 0}
              dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
              dt{font-weight:600} pre{white-space:pre-wrap;background:#f5f5f5;padding:.75rem;border-radius:.25rem}
              iframe{width:100%;min-height:16rem;border:1px solid #ddd;border-radius:.25rem}
            </style></head><body>
            <h1>Local mail sink</h1>
            <p>Emails the pipeline sent to its SendGrid host, newest first. Nothing here left this machine. The page refreshes every 5 seconds.</p>
            """);
        if (mails.Count == 0)
        {
            html.Append("<p>No mail yet.</p>");
        }

        foreach (var mail in mails)
        {
            html.Append("<article><h2>").Append(E(mail.Subject)).Append("</h2><dl>")
                .Append("<dt>To</dt><dd>").Append(E(string.Join(", ", mail.To))).Append("</dd>")
                .Append("<dt>From</dt><dd>").Append(E(mail.From)).Append("</dd>")
                .Append("<dt>Received</dt><dd>").Append(E(mail.ReceivedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture))).Append("</dd>")
                .Append("<dt>Categories</dt><dd>").Append(E(string.Join(", ", mail.Categories))).Append("</dd>")
                .Append("<dt>Message id</dt><dd>").Append(E(mail.MessageId)).Append("</dd></dl>");
            if (mail.Html is not null)
            {
                // The HTML part runs in a sandboxed frame: no scripts, no access to this page.
                html.Append("<h3>HTML part</h3><iframe sandbox title=\"HTML part of ").Append(E(mail.Subject)).Append("\" srcdoc=\"").Append(E(mail.Html)).Append("\"></iframe>");
            }

            if (mail.Text is not null)
            {
                html.Append("<h3>Text part</h3><pre>").Append(E(mail.Text)).Append("</pre>");
            }

            html.Append("</article>");
        }

        return html.Append("</body></html>").ToString();
    }

    private static string E(string value) => WebUtility.HtmlEncode(value);
}
