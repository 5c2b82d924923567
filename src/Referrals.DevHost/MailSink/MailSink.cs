using System.Collections.Concurrent;
using System.Net.Mail;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Referrals.DevHost.MailSink;

public sealed record SinkMail(
    string MessageId,
    DateTimeOffset ReceivedAt,
    string From,
    IReadOnlyList<string> To,
    string Subject,
    string? Text,
    string? Html,
    IReadOnlyList<string> Categories,
    JsonObject Payload);

/// <summary>What the local SendGrid stand-in received, newest first. Bounded so a long local run cannot grow without end.</summary>
public sealed class MailStore(TimeProvider clock)
{
    private const int Capacity = 500;
    private readonly ConcurrentQueue<SinkMail> mails = new();

    public IReadOnlyList<SinkMail> Newest() => mails.Reverse().ToList();

    public SinkMail Add(JsonObject payload, string from, IReadOnlyList<string> to, string subject, string? text, string? html, IReadOnlyList<string> categories)
    {
        var mail = new SinkMail(Guid.NewGuid().ToString("N")[..22], clock.GetUtcNow(), from, to, subject, text, html, categories, payload);
        mails.Enqueue(mail);
        while (mails.Count > Capacity && mails.TryDequeue(out _))
        {
        }

        return mail;
    }

    public void Clear() => mails.Clear();
}

/// <summary>
/// Checks a v3 mail/send payload the way SendGrid does for the fields this app uses, answering with SendGrid's
/// error shape: {"errors":[{"message","field","help"}]}.
/// </summary>
public static class SendGridPayload
{
    public sealed record Error(string Message, string? Field);

    public static List<Error> Validate(JsonObject payload)
    {
        var errors = new List<Error>();
        var from = payload["from"] as JsonObject;
        if (from is null)
        {
            errors.Add(new("The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.", "from"));
        }
        else if (!IsEmail(from["email"]))
        {
            errors.Add(new("The from email does not contain a valid address.", "from.email"));
        }

        var personalizations = payload["personalizations"] as JsonArray;
        if (personalizations is not { Count: > 0 })
        {
            errors.Add(new("The personalizations field is required and must have at least one personalization.", "personalizations"));
        }
        else
        {
            if (personalizations.Count > 1000)
            {
                errors.Add(new("The personalizations field must have 1000 or fewer personalizations.", "personalizations"));
            }

            for (var i = 0; i < personalizations.Count; i++)
            {
                var personalization = personalizations[i] as JsonObject;
                if (personalization?["to"] is not JsonArray { Count: > 0 } to)
                {
                    errors.Add(new("The to array is required for all personalization objects, and must have at least one email object with a valid email address.", $"personalizations.{i}.to"));
                    continue;
                }

                for (var j = 0; j < to.Count; j++)
                {
                    if (!IsEmail(to[j]?["email"]))
                    {
                        errors.Add(new("Does not contain a valid address.", $"personalizations.{i}.to.{j}.email"));
                    }

                    // SendGrid does not deliver to a name holding its address separators; refusing here makes that loud.
                    if (to[j]?["name"]?.ToString() is { } name && name.IndexOfAny([',', ';']) >= 0)
                    {
                        errors.Add(new("The to name cannot contain ';' or ','.", $"personalizations.{i}.to.{j}.name"));
                    }
                }

                if (string.IsNullOrEmpty(payload["subject"]?.ToString()) && string.IsNullOrEmpty(personalization["subject"]?.ToString()) && payload["template_id"] is null)
                {
                    errors.Add(new("The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.", "subject"));
                }
            }
        }

        if (payload["template_id"] is null)
        {
            if (payload["content"] is not JsonArray { Count: > 0 } content)
            {
                errors.Add(new("Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.", "content"));
            }
            else
            {
                for (var i = 0; i < content.Count; i++)
                {
                    if (string.IsNullOrEmpty(content[i]?["type"]?.ToString()))
                    {
                        errors.Add(new("The content type must be provided.", $"content.{i}.type"));
                    }

                    if (string.IsNullOrEmpty(content[i]?["value"]?.ToString()))
                    {
                        errors.Add(new("The content value must be a string at least one character in length.", $"content.{i}.value"));
                    }
                }

                var types = content.Select(c => c?["type"]?.ToString()).ToList();
                if (types.Contains("text/plain") && types[0] != "text/plain")
                {
                    errors.Add(new("If present, text/plain content must be first, followed by text/html, followed by any other content.", "content"));
                }
            }
        }

        return errors;
    }

    public static SinkMail Store(MailStore store, JsonObject payload)
    {
        var personalization = (JsonObject)payload["personalizations"]![0]!;
        var content = payload["content"]?.AsArray() ?? [];
        string? Part(string type) => content.FirstOrDefault(c => c?["type"]?.ToString() == type)?["value"]?.ToString();
        return store.Add(
            payload,
            payload["from"]!["email"]!.ToString(),
            personalization["to"]!.AsArray().Select(t => t!["email"]!.ToString()).ToList(),
            personalization["subject"]?.ToString() ?? payload["subject"]?.ToString() ?? "",
            Part("text/plain"),
            Part("text/html"),
            payload["categories"]?.AsArray().Select(c => c!.ToString()).ToList() ?? []);
    }

    public static object ErrorBody(IEnumerable<Error> errors) =>
        new { errors = errors.Select(e => new { message = e.Message, field = e.Field, help = (string?)null }) };

    private static bool IsEmail(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) && MailAddress.TryCreate(text, out var address) && address.Address == text;

    public static JsonObject? Parse(string body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
