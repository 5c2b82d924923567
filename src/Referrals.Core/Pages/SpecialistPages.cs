using System.Net;
using System.Text;
using Referrals.Core.Referrals;

namespace Referrals.Core.Pages;

/// <summary>What a specialist (or the triage coordinator) needs to contact the visitor. Shown only behind a signed link.</summary>
public sealed record ReferralDetails(
    string Reference, string Name, string Email, string? Phone, string ContactMethod, string State, string Treatment,
    string? Insurance, string? Language, string VisitPreference, string? Message, bool Urgent);

/// <summary>Pages behind the links in specialists' and coordinators' emails.</summary>
public static class SpecialistPages
{
    public static readonly IReadOnlyList<(string Code, string Label)> DeclineReasons =
    [
        ("no-capacity", "I have no capacity right now"),
        ("not-a-fit", "Not a clinical fit for my practice"),
        ("insurance", "I cannot accept this insurance"),
        ("other", "Another reason"),
    ];

    public static string RenderReferral(ReferralDetails details, string? respondToken, string postUrl, string nonce)
    {
        var html = new StringBuilder();
        Head(html, $"Referral {details.Reference}", nonce);
        html.Append("<main><h1>Referral ").Append(E(details.Reference)).Append("</h1>");
        if (details.Urgent)
        {
            html.Append("<p class=\"urgent\"><strong>Urgent:</strong> the person said they are having thoughts of harming themselves. Please contact them first.</p>");
        }

        html.Append("<dl>");
        Row(html, "Name", details.Name);
        Row(html, "Email", details.Email);
        Row(html, "Phone", details.Phone ?? "not given");
        Row(html, "Preferred contact", details.ContactMethod);
        Row(html, "State", UsStates.ByCode.GetValueOrDefault(details.State, details.State));
        Row(html, "Interested in", Treatments.Find(details.Treatment)?.DisplayName ?? details.Treatment);
        Row(html, "Visit preference", details.VisitPreference);
        Row(html, "Language", details.Language is null ? "not given" : Languages.Find(details.Language)?.Name ?? details.Language);
        Row(html, "Insurance", details.Insurance ?? "not given");
        Row(html, "Message", details.Message ?? "none");
        html.Append("</dl>");

        if (respondToken is not null)
        {
            html.Append("<h2>Your answer</h2>")
                .Append("<form method=\"post\" action=\"").Append(E(postUrl)).Append("\"><input type=\"hidden\" name=\"t\" value=\"").Append(E(respondToken)).Append("\">")
                .Append("<input type=\"hidden\" name=\"decision\" value=\"accept\"><button type=\"submit\" id=\"accept\">Accept this referral</button></form>")
                .Append("<form method=\"post\" action=\"").Append(E(postUrl)).Append("\"><input type=\"hidden\" name=\"t\" value=\"").Append(E(respondToken)).Append("\">")
                .Append("<input type=\"hidden\" name=\"decision\" value=\"decline\"><fieldset id=\"decline\"><legend>Decline this referral</legend>");
            foreach (var (code, label) in DeclineReasons)
            {
                html.Append("<div class=\"choice\"><input type=\"radio\" name=\"reason\" id=\"reason-").Append(code).Append("\" value=\"").Append(code).Append("\" required>")
                    .Append("<label for=\"reason-").Append(code).Append("\">").Append(E(label)).Append("</label></div>");
            }

            html.Append("</fieldset><button type=\"submit\" class=\"secondary\">Decline</button></form>");
        }

        return html.Append("</main></body></html>").ToString();
    }

    /// <summary>A question with one button that posts the signed token back: links in emails never act on GET.</summary>
    public static string RenderConfirm(string title, string message, string postUrl, string token, string button, string nonce)
    {
        var html = new StringBuilder();
        Head(html, title, nonce);
        return html.Append("<main><h1>").Append(E(title)).Append("</h1><p>").Append(E(message)).Append("</p>")
            .Append("<form method=\"post\" action=\"").Append(E(postUrl)).Append("\"><input type=\"hidden\" name=\"t\" value=\"").Append(E(token)).Append("\">")
            .Append("<button type=\"submit\">").Append(E(button)).Append("</button></form></main></body></html>").ToString();
    }

    /// <summary>A short outcome or problem page: "recorded", "already recorded", an expired or invalid link.</summary>
    public static string RenderMessage(string title, string message, string nonce)
    {
        var html = new StringBuilder();
        Head(html, title, nonce);
        return html.Append("<main><h1>").Append(E(title)).Append("</h1><p>").Append(E(message)).Append("</p></main></body></html>").ToString();
    }

    private static void Row(StringBuilder html, string label, string value) =>
        html.Append("<dt>").Append(E(label)).Append("</dt><dd>").Append(E(value)).Append("</dd>");

    private static void Head(StringBuilder html, string title, string nonce) =>
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\">")
            .Append("<title>").Append(E(title)).Append("</title><style nonce=\"").Append(E(nonce)).Append("\">")
            .Append("body{margin:0;font:1rem/1.5 system-ui,sans-serif;color:#1b1b1b}main{max-width:40rem;margin:0 auto;padding:1rem}")
            .Append("dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;white-space:pre-wrap}")
            .Append(".urgent{border:2px solid #b00020;padding:.75rem;border-radius:.25rem}fieldset{border:1px solid #767676;margin:1rem 0}")
            .Append(".choice{margin:.25rem 0}button{font:inherit;font-weight:700;background:#0b4f8a;color:#fff;border:0;border-radius:.25rem;padding:.7rem 1.25rem;margin:.5rem 0}")
            .Append("button.secondary{background:#4a4a4a}</style></head><body>");

    private static string E(string value) => WebUtility.HtmlEncode(value);
}
