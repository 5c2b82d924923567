using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Referrals.Core.Referrals;
using Referrals.Functions.Web;

namespace Referrals.Functions.Intake;

/// <summary>
/// Binds <see cref="ReferralSubmission"/> from a form post or a JSON body (the names are <see cref="ReferralFields"/>
/// either way), or refuses a request that cannot be read: wrong content type, too large, not JSON.
/// </summary>
internal static class ReferralBinding
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip };

    public sealed record Bound(ReferralSubmission? Submission, bool IsForm, IResult? Refusal);

    public static async Task<Bound> BindAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value : null;
        var isForm = string.Equals(mediaType, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        var isJson = string.Equals(mediaType, "application/json", StringComparison.OrdinalIgnoreCase);
        if (!isForm && !isJson)
        {
            return Refuse(Problems.Of(StatusCodes.Status415UnsupportedMediaType, "Unsupported content type.", "Send application/json or application/x-www-form-urlencoded."));
        }

        var body = await RequestBody.ReadLimitedAsync(request, IntakeOptions.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return Refuse(Problems.Of(StatusCodes.Status413PayloadTooLarge, "The request is too large.", $"Send at most {IntakeOptions.MaxBodyBytes / 1024} KB."));
        }

        if (isForm)
        {
            var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
            return new Bound(ReferralSubmission.FromForm(name => form.TryGetValue(name, out var value) ? value.ToString() : null), IsForm: true, null);
        }

        try
        {
            return new Bound(JsonSerializer.Deserialize<ReferralSubmission>(body, Json) ?? throw new JsonException("null body"), IsForm: false, null);
        }
        catch (JsonException)
        {
            return Refuse(Problems.Of(StatusCodes.Status400BadRequest, "The request body is not valid JSON.",
                $"Send a JSON object with {ReferralFields.Name}, {ReferralFields.Email}, {ReferralFields.State}, {ReferralFields.Treatment}, "
                + $"{ReferralFields.Consent}, {ReferralFields.PrivacyAcknowledged} and {ReferralFields.Adult}."));
        }
    }

    private static Bound Refuse(IResult problem) => new(null, IsForm: false, problem);
}
