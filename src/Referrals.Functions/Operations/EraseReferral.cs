using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: withdraw a referral and erase its personal details (a request by phone or email, say), with a
/// reason. The reason goes to an audit row in the referral's partition that survives the erasure.
/// </summary>
public sealed partial class EraseReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    ReferralErasure erasure,
    ILogger<EraseReferral> logger)
{
    private const int MaxBodyBytes = 4 * 1024;

    [Function(nameof(EraseReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ops/referrals/{id}/erase")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (await ReasonAsync(request, cancellationToken) is not { } reason)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "A reason is required.",
                $"Send a JSON body such as {{\"reason\": \"Asked by phone\"}}, at most {AuditReasons.MaxLength} characters, without personal details.");
        }

        // The Functions worker is not told which key authorised the call, so the audit can only say "operator".
        if (!ReferralId.IsWellFormed(id) || !await erasure.EraseAsync(id, Actor.Operator, reason, cancellationToken))
        {
            return Problems.NotFound("No referral has this reference.");
        }

        var stub = (await referrals.FindReferralAsync(id, cancellationToken))!;
        LogErased(id);
        return TypedResults.Ok(new { id, status = stub.Status, erasedAt = stub.ErasedAt });
    }

    private static async Task<string?> ReasonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            return body.RootElement.ValueKind == JsonValueKind.Object
                && body.RootElement.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String
                && reason.GetString()!.Trim() is { Length: > 0 and <= AuditReasons.MaxLength } trimmed ? trimmed : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} erased by an operator")]
    private partial void LogErased(string referralId);
}
