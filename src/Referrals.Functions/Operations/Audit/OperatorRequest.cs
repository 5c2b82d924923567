using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Referrals.Functions.Privacy;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations.Audit;

/// <summary>
/// What every audited operator request carries: a reason, in the JSON body's <c>reason</c> for actions, or in the
/// <see cref="ReasonHeader"/> header for reads (never in the URL, which gets logged).
/// </summary>
internal static class OperatorRequest
{
    public const string ReasonHeader = "X-Audit-Reason";
    private const int MaxBodyBytes = 4 * 1024;

    /// <summary>The body as a JSON object; null when it is missing, over 4 KB, malformed or not an object.</summary>
    public static async Task<JsonObject?> BodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (await RequestBody.ReadLimitedAsync(request, MaxBodyBytes, cancellationToken) is not { Length: > 0 } bytes)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(bytes) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The body's <c>reason</c>, trimmed, when it is a string of 1 to 500 characters.</summary>
    public static string? Reason(JsonObject? body) =>
        body?["reason"] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? Valid(value.GetValue<string>()) : null;

    /// <summary>The <see cref="ReasonHeader"/> header, trimmed, when it holds 1 to 500 characters.</summary>
    public static string? HeaderReason(HttpRequest request) => Valid(request.Headers[ReasonHeader].FirstOrDefault());

    public static IResult ReasonRequired() => Problems.Of(StatusCodes.Status400BadRequest, "A reason is required.",
        $"Send a JSON body such as {{\"reason\": \"Asked by phone, ticket 4711\"}}: 1 to {AuditReasons.MaxLength} characters, without personal details.");

    public static IResult HeaderReasonRequired() => Problems.Of(StatusCodes.Status400BadRequest, "A reason is required to see personal details.",
        $"Send the reason in the {ReasonHeader} header (never in the URL): 1 to {AuditReasons.MaxLength} characters, without personal details.");

    private static string? Valid(string? reason) => reason?.Trim() is { Length: > 0 and <= AuditReasons.MaxLength } trimmed ? trimmed : null;
}
