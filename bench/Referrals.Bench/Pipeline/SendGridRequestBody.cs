using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Referrals.Bench.Pipeline;

/// <summary>What the stand-ins read of a mail/send body: the app's custom_args, the category (the email's kind) and the recipient.</summary>
internal sealed class SendGridRequestBody(JsonNode? body)
{
    private readonly JsonNode? personalization = body?["personalizations"]?[0];

    public static async Task<SendGridRequestBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return new SendGridRequestBody(await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken));
        }
        catch (System.Text.Json.JsonException)
        {
            return new SendGridRequestBody(null);
        }
    }

    /// <summary>A custom_arg: the SendGrid library puts them on the personalization; the message level is allowed too.</summary>
    public string? Arg(string name) => (personalization?["custom_args"]?[name] ?? body?["custom_args"]?[name])?.ToString();

    public string Category => body?["categories"]?[0]?.ToString() ?? "";

    public string Recipient => personalization?["to"]?[0]?["email"]?.ToString() ?? "";

    public string? Subject => (personalization?["subject"] ?? body?["subject"])?.ToString();

    public string? PlainText => body?["content"]?.AsArray().FirstOrDefault(c => c?["type"]?.ToString() == "text/plain")?["value"]?.ToString();
}
