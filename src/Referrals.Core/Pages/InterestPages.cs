using System.Net;
using System.Text;
using Referrals.Core.Referrals;

namespace Referrals.Core.Pages;

/// <summary>What the form shows: the values to keep, the errors to explain, a notice, and the signed stamp.</summary>
public sealed record FormModel(
    IReadOnlyDictionary<string, string?> Values,
    IReadOnlyDictionary<string, string[]> Errors,
    string Stamp,
    string Nonce,
    string PostUrl,
    FormNotice? Notice = null);

/// <summary>A short note above the form when it comes back without errors in the values (nobody is blamed).</summary>
public sealed record FormNotice(string Title, string Text)
{
    /// <summary>Sent very soon after the form was shown (autofill), or after it was open for hours.</summary>
    public static FormNotice SendAgain { get; } = new(
        "Please check and send again",
        "We kept everything you entered. Please check your details and press \u201cSend my request\u201d again.");

    /// <summary>This very form was already sent, with other details: that earlier request stands.</summary>
    public static FormNotice AlreadySent { get; } = new(
        "This form was already sent",
        "We already have the request you sent from this form, with different details. To send these details as a new request, check them and press \u201cSend my request\u201d again.");
}

/// <summary>
/// The visitor's pages: the interest form and the thank-you page. Mobile first, usable without JavaScript, and with
/// no third-party requests: styles and the small script are inline, allowed by a per-response CSP nonce.
/// </summary>
public static class InterestPages
{
    public const string HoneypotField = ReferralFields.Website;
    public const string StampField = ReferralFields.Stamp;

    internal const string CrisisBlock = """
        <aside class="crisis" aria-labelledby="crisis-title">
          <h2 id="crisis-title">If you need help right now</h2>
          <ul>
            <li>Call or text <a href="tel:988"><strong>988</strong></a>, the Suicide &amp; Crisis Lifeline, any time, day or night.</li>
            <li>Chat online at <a href="https://988lifeline.org/chat">988lifeline.org</a>.</li>
            <li>If you are in immediate danger, call <a href="tel:911"><strong>911</strong></a>.</li>
          </ul>
          <p>This form is not monitored in real time. Please do not use it in an emergency.</p>
        </aside>
        """;

    /// <summary>What ticking the crisis box does, exactly: no more than the pipeline does.</summary>
    public const string UrgentHint =
        "If you tick this, we show you crisis resources straight away, alert our team by email at once, and offer your request "
        + "to a specialist ahead of other requests. Our team is not available around the clock, so this does not replace calling 988 or 911.";

    /// <summary>True when the thank-you page shows: the alert is queued, not yet read by anyone.</summary>
    public const string UrgentThanks =
        "We are alerting our team by email now and will offer your request to a specialist ahead of other requests.";

    private const string Styles = """
        *{box-sizing:border-box}
        body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff}
        main{max-width:40rem;margin:0 auto;padding:1rem}
        h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
        h2{font-size:1.2rem;margin:0 0 .5rem}
        a{color:#0b4f8a}
        a:focus,input:focus,select:focus,textarea:focus,button:focus,.error-summary:focus{outline:3px solid #f5a623;outline-offset:2px}
        .crisis{background:#fff4e5;border:2px solid #8a4b00;border-radius:.5rem;padding:1rem;margin:0 0 1.5rem}
        .crisis ul{margin:.25rem 0 .5rem;padding-left:1.25rem}
        .crisis p{margin:0;font-weight:600}
        .field{margin:0 0 1.25rem}
        label,legend{display:block;font-weight:600;margin:0 0 .25rem}
        .hint{display:block;color:#4a4a4a;font-weight:400;margin:0 0 .25rem}
        input[type=text],input[type=email],input[type=tel],select,textarea{width:100%;font:inherit;padding:.6rem;border:2px solid #505050;border-radius:.25rem;min-height:2.75rem;background:#fff;color:inherit}
        textarea{min-height:7rem}
        fieldset{border:0;padding:0;margin:0 0 1.25rem}
        .choice{display:flex;gap:.6rem;align-items:flex-start;margin:.4rem 0}
        .choice input{width:1.5rem;height:1.5rem;margin:0;flex:none}
        .choice label{font-weight:400;margin:0}
        .error{color:#b00020;font-weight:600;margin:.25rem 0}
        [aria-invalid=true]{border-color:#b00020}
        .error-summary{border:3px solid #b00020;border-radius:.5rem;padding:1rem;margin:0 0 1.5rem}
        .error-summary ul{margin:0;padding-left:1.25rem}
        .error-summary a{color:#b00020;font-weight:600}
        .notice{border:3px solid #0b4f8a;border-radius:.5rem;padding:1rem;margin:0 0 1.5rem}
        .notice p{margin:0}
        .optional{font-weight:400;color:#4a4a4a}
        .hp{display:none}
        .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        button{font:inherit;font-weight:700;background:#0b4f8a;color:#fff;border:0;border-radius:.25rem;padding:.8rem 1.5rem;min-height:3rem;width:100%;cursor:pointer}
        .reference{font-size:1.4rem;font-weight:700;letter-spacing:.05em}
        @media (min-width:40rem){button{width:auto}}
        """;

    private static readonly (string Value, string Label)[] VisitPreferences =
        [("either", "Either is fine"), ("telehealth", "Video (telehealth)"), ("in-person", "In person")];

    private static readonly (string Value, string Label)[] ContactMethods =
        [("email", "Email"), ("phone", "Phone call"), ("text", "Text message")];

    public static string RenderForm(FormModel model)
    {
        var html = new StringBuilder();
        Head(html, model.Errors.Count > 0 ? "Error: Ask about ketamine treatment"
            : model.Notice is not null ? $"{model.Notice.Title}: Ask about ketamine treatment" : "Ask about ketamine treatment", model.Nonce);
        html.Append("<main>");
        html.Append("<h1>Ask about ketamine treatment</h1>");
        html.Append(CrisisBlock);
        html.Append("<p>Tell us a little about yourself and a specialist licensed in your state will contact you, usually within two business days.</p>");

        if (model.Errors.Count > 0)
        {
            html.Append("<div class=\"error-summary\" id=\"error-summary\" role=\"alert\" tabindex=\"-1\" autofocus aria-labelledby=\"error-summary-title\">")
                .Append("<h2 id=\"error-summary-title\">There is a problem</h2><ul>");
            foreach (var (field, messages) in model.Errors)
            {
                html.Append("<li><a href=\"#").Append(E(FieldId(field))).Append("\">").Append(E(messages[0])).Append("</a></li>");
            }

            html.Append("</ul></div>");
        }
        else if (model.Notice is { } notice)
        {
            html.Append("<div class=\"notice\" id=\"form-notice\" role=\"alert\" tabindex=\"-1\" aria-labelledby=\"form-notice-title\">")
                .Append("<h2 id=\"form-notice-title\">").Append(E(notice.Title)).Append("</h2><p>").Append(E(notice.Text)).Append("</p></div>");
        }

        html.Append("<form method=\"post\" action=\"").Append(E(model.PostUrl)).Append("\" novalidate>");
        foreach (var hidden in new[] { ReferralFields.Topic, ReferralFields.Post }.Concat(SourceAttribution.UtmKeys))
        {
            if (Value(model, hidden) is { Length: > 0 } v)
            {
                html.Append("<input type=\"hidden\" name=\"").Append(hidden).Append("\" value=\"").Append(E(v)).Append("\">");
            }
        }

        html.Append("<input type=\"hidden\" name=\"").Append(StampField).Append("\" value=\"").Append(E(model.Stamp)).Append("\">");

        TextField(html, model, ReferralFields.Name, "Full name", "text", "name", hint: null, optional: false);
        TextField(html, model, ReferralFields.Email, "Email address", "email", "email", hint: "We will send your reference and next steps here.", optional: false);
        TextField(html, model, ReferralFields.Phone, "Phone number", "tel", "tel", hint: "Only if you would like a call or a text.", optional: true);

        SelectField(html, model, ReferralFields.State, "State where you live", "Specialists can only treat people in states where they are licensed.",
            UsStates.ByCode.OrderBy(s => s.Value, StringComparer.Ordinal).Select(s => (s.Key, s.Value)));
        SelectField(html, model, ReferralFields.Treatment, "What would you like to learn about?", null,
            Treatments.All.Select(t => (t.Code, t.DisplayName)));

        RadioGroup(html, model, ReferralFields.ContactMethod, "How should we contact you?", ContactMethods, "email");
        RadioGroup(html, model, ReferralFields.VisitPreference, "How would you like to be seen?", VisitPreferences, "either");
        SelectField(html, model, ReferralFields.Language, "Preferred language (optional)", "We will try to match you with a specialist who speaks it.",
            Languages.All.Select(l => (l.Code, l.Name)), required: false);

        TextField(html, model, ReferralFields.Insurance, "Insurance provider", "text", "off", hint: "For example the name on your insurance card.", optional: true);

        html.Append("<div class=\"field\"><label for=\"").Append(FieldId(ReferralFields.Message)).Append("\">Anything you would like us to know <span class=\"optional\">(optional)</span></label>")
            .Append("<span class=\"hint\" id=\"message-hint\">Up to ").Append(ReferralValidator.MaxMessageLength).Append(" characters. Please do not include anything urgent: this form is not monitored in real time.</span>");
        ErrorText(html, model, ReferralFields.Message);
        html.Append("<textarea id=\"").Append(FieldId(ReferralFields.Message)).Append("\" name=\"").Append(ReferralFields.Message).Append("\" maxlength=\"").Append(ReferralValidator.MaxMessageLength).Append('"')
            .Append(Described(model, ReferralFields.Message, "message-hint")).Append('>').Append(E(Value(model, ReferralFields.Message) ?? "")).Append("</textarea>")
            .Append("<p class=\"hint\" id=\"message-count\" aria-live=\"polite\"></p></div>");

        html.Append("<fieldset class=\"field\"><legend>Your safety</legend>");
        Checkbox(html, model, ReferralFields.Urgent, "I am having thoughts of harming myself", hintId: "urgent-hint");
        html.Append("<p class=\"hint\" id=\"urgent-hint\">").Append(E(UrgentHint)).Append("</p></fieldset>");

        html.Append("<fieldset class=\"field\"><legend>Before you send</legend>");
        Checkbox(html, model, ReferralFields.Consent, "I agree to be contacted about my request by email, or by phone or text if I chose that");
        PrivacyCheckbox(html, model);
        Checkbox(html, model, ReferralFields.Adult, "I am 18 or older");
        html.Append("</fieldset>");

        html.Append("<div class=\"hp\"><label for=\"").Append(HoneypotField).Append("\">Leave this field empty</label><input type=\"text\" id=\"").Append(HoneypotField)
            .Append("\" name=\"").Append(HoneypotField).Append("\" tabindex=\"-1\" autocomplete=\"off\"></div>");
        html.Append("<button type=\"submit\">Send my request</button></form></main>");
        html.Append("<script nonce=\"").Append(E(model.Nonce)).Append("\">").Append(FormScript).Append("</script>");
        return html.Append("</body></html>").ToString();
    }

    public static string RenderThanks(string? reference, bool urgent, string nonce)
    {
        var html = new StringBuilder();
        Head(html, "Thank you: we received your request", nonce);
        html.Append("<main>");
        if (urgent)
        {
            html.Append("<h1>Please reach out for support now</h1>");
            html.Append(CrisisBlock);
            html.Append("<p>You told us you are having thoughts of harming yourself. You do not have to wait for us: the people at 988 are there for you right now. ")
                .Append(E(UrgentThanks)).Append("</p>");
        }
        else
        {
            html.Append("<h1>Thank you: we received your request</h1>");
        }

        if (reference is not null)
        {
            html.Append("<p>Your reference is <span class=\"reference\">").Append(E(reference)).Append("</span>. Please keep it. Our emails about your request go to the address you gave.</p>");
        }

        html.Append("""
            <h2>What happens next</h2>
            <ol>
              <li><strong>A specialist contacts you</strong>, usually within two business days, by the method you chose.</li>
              <li><strong>Initial assessment</strong>: a full evaluation to find out whether ketamine treatment is right for you.</li>
              <li><strong>Treatment sessions</strong>, if you go ahead: usually 6 to 8 sessions over 2 to 3 weeks, with close monitoring for side effects and response.</li>
              <li><strong>Follow-up care</strong>, often together with psychotherapy or other support.</li>
            </ol>
            """);
        if (!urgent)
        {
            html.Append(CrisisBlock);
        }

        return html.Append("</main></body></html>").ToString();
    }

    private const string FormScript = """
        (function(){
          var summary=document.getElementById('error-summary')||document.getElementById('form-notice');
          if(summary){summary.focus();}
          var message=document.getElementById('field-message'),count=document.getElementById('message-count');
          if(message&&count){var max=message.getAttribute('maxlength');var update=function(){count.textContent=message.value.length+' of '+max+' characters';};message.addEventListener('input',update);update();}
          var form=document.querySelector('form');
          if(form){form.addEventListener('submit',function(){var b=form.querySelector('button[type=submit]');if(b){setTimeout(function(){b.disabled=true;b.textContent='Sending…';},0);}});}
        })();
        """;

    internal static void Head(StringBuilder html, string title, string nonce) =>
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(title)).Append("</title><style nonce=\"").Append(E(nonce)).Append("\">").Append(Styles).Append("</style></head><body>");

    private static void TextField(StringBuilder html, FormModel model, string name, string label, string type, string autocomplete, string? hint, bool optional)
    {
        html.Append("<div class=\"field\"><label for=\"").Append(FieldId(name)).Append("\">").Append(E(label));
        if (optional)
        {
            html.Append(" <span class=\"optional\">(optional)</span>");
        }

        html.Append("</label>");
        if (hint is not null)
        {
            html.Append("<span class=\"hint\" id=\"").Append(name).Append("-hint\">").Append(E(hint)).Append("</span>");
        }

        ErrorText(html, model, name);
        html.Append("<input type=\"").Append(type).Append("\" id=\"").Append(FieldId(name)).Append("\" name=\"").Append(name)
            .Append("\" autocomplete=\"").Append(autocomplete).Append("\" value=\"").Append(E(Value(model, name) ?? "")).Append('"')
            .Append(optional ? "" : " required").Append(Described(model, name, hint is null ? null : name + "-hint")).Append("></div>");
    }

    private static void SelectField(StringBuilder html, FormModel model, string name, string label, string? hint, IEnumerable<(string Value, string Label)> options, bool required = true)
    {
        var selected = Value(model, name);
        html.Append("<div class=\"field\"><label for=\"").Append(FieldId(name)).Append("\">").Append(E(label)).Append("</label>");
        if (hint is not null)
        {
            html.Append("<span class=\"hint\" id=\"").Append(name).Append("-hint\">").Append(E(hint)).Append("</span>");
        }

        ErrorText(html, model, name);
        html.Append("<select id=\"").Append(FieldId(name)).Append("\" name=\"").Append(name).Append('"').Append(required ? " required" : "")
            .Append(Described(model, name, hint is null ? null : name + "-hint")).Append("><option value=\"\">Choose…</option>");
        foreach (var (value, text) in options)
        {
            html.Append("<option value=\"").Append(E(value)).Append('"')
                .Append(string.Equals(selected, value, StringComparison.OrdinalIgnoreCase) ? " selected" : "")
                .Append('>').Append(E(text)).Append("</option>");
        }

        html.Append("</select></div>");
    }

    /// <summary>Radios in a fieldset; the first option carries the field's id so the error summary can link to it.</summary>
    private static void RadioGroup(StringBuilder html, FormModel model, string name, string legend, (string Value, string Label)[] options, string defaultValue)
    {
        var selected = Value(model, name) ?? defaultValue;
        html.Append("<fieldset class=\"field\"").Append(Described(model, name)).Append("><legend>").Append(E(legend)).Append("</legend>");
        ErrorText(html, model, name);
        foreach (var (value, label) in options)
        {
            var id = value == options[0].Value ? FieldId(name) : $"{name}-{value}";
            html.Append("<div class=\"choice\"><input type=\"radio\" name=\"").Append(name).Append("\" id=\"").Append(id).Append("\" value=\"").Append(value).Append('"')
                .Append(string.Equals(selected, value, StringComparison.OrdinalIgnoreCase) ? " checked" : "")
                .Append("><label for=\"").Append(id).Append("\">").Append(E(label)).Append("</label></div>");
        }

        html.Append("</fieldset>");
    }

    private static void Checkbox(StringBuilder html, FormModel model, string name, string label, string? hintId = null)
    {
        ErrorText(html, model, name);
        html.Append("<div class=\"choice\"><input type=\"checkbox\" id=\"").Append(FieldId(name)).Append("\" name=\"").Append(name).Append("\" value=\"").Append(ReferralFields.CheckedValue).Append('"')
            .Append(IsChecked(Value(model, name)) ? " checked" : "").Append(Described(model, name, hintId))
            .Append("><label for=\"").Append(FieldId(name)).Append("\">").Append(E(label)).Append("</label></div>");
    }

    /// <summary>
    /// The privacy checkbox, whose label links to the notice. The link opens a new tab: the form is never cached, so
    /// leaving it would lose what the visitor typed. A link inside a label does not tick the box when followed.
    /// </summary>
    private static void PrivacyCheckbox(StringBuilder html, FormModel model)
    {
        const string name = ReferralFields.PrivacyAcknowledged;
        ErrorText(html, model, name);
        html.Append("<div class=\"choice\"><input type=\"checkbox\" id=\"").Append(FieldId(name)).Append("\" name=\"").Append(name).Append("\" value=\"").Append(ReferralFields.CheckedValue).Append('"')
            .Append(IsChecked(Value(model, name)) ? " checked" : "").Append(Described(model, name))
            .Append("><label for=\"").Append(FieldId(name)).Append("\">I have read the <a href=\"").Append(PrivacyPage.Path)
            .Append("\" target=\"_blank\" rel=\"noopener\">privacy notice<span class=\"visually-hidden\"> (opens in a new tab)</span></a>")
            .Append(": my details are used only to connect me with a specialist and are deleted when no longer needed</label></div>");
    }

    private static void ErrorText(StringBuilder html, FormModel model, string name)
    {
        if (model.Errors.TryGetValue(name, out var messages))
        {
            html.Append("<p class=\"error\" id=\"").Append(name).Append("-error\"><span class=\"visually-hidden\">Error: </span>").Append(E(messages[0])).Append("</p>");
        }
    }

    private static string Described(FormModel model, string name, string? hintId = null)
    {
        var ids = new List<string>();
        if (hintId is not null) ids.Add(hintId);
        var invalid = model.Errors.ContainsKey(name);
        if (invalid) ids.Add(name + "-error");
        return (ids.Count > 0 ? $" aria-describedby=\"{string.Join(' ', ids)}\"" : "") + (invalid ? " aria-invalid=\"true\"" : "");
    }

    public static bool IsChecked(string? value) => ReferralFields.IsChecked(value);

    public static string FieldId(string name) => "field-" + name;

    private static string? Value(FormModel model, string name) => model.Values.TryGetValue(name, out var v) ? v : null;

    internal static string E(string value) => WebUtility.HtmlEncode(value);
}
