using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referrals.Core.Pages;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Web;

namespace Referrals.Functions.Intake;

/// <summary>The interest form and the thank-you page.</summary>
public sealed class InterestForm(FormStamp stamps, ThanksToken thanks, TimeProvider clock)
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
            values[ReferralFields.Topic] = topic.Code;
            values[ReferralFields.Treatment] = topic.Treatment.Code;
        }

        // Attribution is carried only when it is clean: a visitor never sees an error for a odd link.
        foreach (var key in SourceAttribution.UtmKeys.Append(ReferralFields.Post))
        {
            if (LinkValue(request.Query[key]) is { } value)
            {
                values[key] = value;
            }
        }

        return Render(request.HttpContext, values, new Dictionary<string, string[]>(), StatusCodes.Status200OK);
    }

    /// <summary>
    /// Shows only what the signed cookie from the form post says; nothing is looked up, and a reference in the URL is
    /// ignored. Without a valid cookie (spam, another browser, later) it is a plain thank-you.
    /// </summary>
    [Function("InterestThanks")]
    public IResult Thanks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "interest/thanks")] HttpRequest request)
    {
        var note = ThanksCookie.Read(request, thanks, clock.GetUtcNow());
        var nonce = HtmlPage.NewNonce();
        return HtmlPage.Respond(request.HttpContext, InterestPages.RenderThanks(note?.Reference, note?.Urgent == true, nonce), nonce);
    }

    /// <summary>
    /// Shows the form, with the visitor's values kept, and errors or a notice. A fresh stamp unless
    /// <paramref name="stamp"/> keeps the posted one (so that sending again is the same submission).
    /// </summary>
    public IResult Render(HttpContext context, IReadOnlyDictionary<string, string?> values, IReadOnlyDictionary<string, string[]> errors, int statusCode,
        FormNotice? notice = null, string? stamp = null)
    {
        var nonce = HtmlPage.NewNonce();
        stamp ??= stamps.Create(clock.GetUtcNow());
        return HtmlPage.Respond(context, InterestPages.RenderForm(new FormModel(values, errors, stamp, nonce, PostPath, notice)), nonce, statusCode);
    }

    /// <summary>Only what the validator would accept is carried, so a hidden field can never fail the visitor's post.</summary>
    internal static string? LinkValue(string? value) =>
        string.IsNullOrWhiteSpace(value) || value.Length > SourceAttribution.MaxValueLength
        || OneLineText.Check(value, allowJoiners: false) != TextProblem.None ? null : OneLineText.TrimSpaces(value);
}
