using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>The interest form and the thank-you page.</summary>
public sealed class InterestForm(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    IOptions<IntakeOptions> options,
    TimeProvider clock)
{
    public const string FormPath = "/api/interest";
    public const string ThanksPath = "/api/interest/thanks";
    public const string PostPath = "/api/referrals";

    [Function(nameof(InterestForm))]
    public IResult Show([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "interest")] HttpRequest request)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (Topics.Find(request.Query["topic"]) is { } topic)
        {
            values["topic"] = topic.Code;
            values["treatment"] = topic.Treatment.Code;
        }

        // Attribution is carried only when it is clean: a visitor never sees an error for a odd link.
        foreach (var key in SourceAttribution.UtmKeys.Append("post"))
        {
            if (LinkValue(request.Query[key]) is { } value)
            {
                values[key] = value;
            }
        }

        return Render(request.HttpContext, values, new Dictionary<string, string[]>(), StatusCodes.Status200OK);
    }

    [Function("InterestThanks")]
    public async Task<IResult> Thanks(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "interest/thanks")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        string? reference = request.Query["ref"];
        var referral = ReferralId.IsWellFormed(reference) ? await referrals.FindReferralAsync(reference!, cancellationToken) : null;
        var nonce = HtmlPage.NewNonce();
        return HtmlPage.Respond(request.HttpContext, InterestPages.RenderThanks(referral?.PartitionKey, referral?.Urgent == true, nonce), nonce);
    }

    /// <summary>Shows the form, with errors and the visitor's values kept when there are errors.</summary>
    public IResult Render(HttpContext context, IReadOnlyDictionary<string, string?> values, IReadOnlyDictionary<string, string[]> errors, int statusCode)
    {
        var nonce = HtmlPage.NewNonce();
        var stamp = options.Value.Stamp().Create(clock.GetUtcNow());
        return HtmlPage.Respond(context, InterestPages.RenderForm(new FormModel(values, errors, stamp, nonce, PostPath)), nonce, statusCode);
    }

    /// <summary>Only what the validator would accept is carried, so a hidden field can never fail the visitor's post.</summary>
    internal static string? LinkValue(string? value) =>
        string.IsNullOrWhiteSpace(value) || value.Length > SourceAttribution.MaxValueLength
        || OneLineText.Check(value, allowJoiners: false) != TextProblem.None ? null : OneLineText.TrimSpaces(value);
}
