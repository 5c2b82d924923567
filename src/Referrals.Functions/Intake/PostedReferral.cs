using Referrals.Core.Pages;
using Referrals.Core.Referrals;

namespace Referrals.Functions.Intake;

/// <summary>The posted fields, from either content type, before validation.</summary>
internal sealed record PostedReferral(
    string? Name, string? Email, string? Phone, string? State, string? Treatment, string? ContactMethod, string? Insurance,
    string? Message, bool? Consent, bool? PrivacyAcknowledged, bool? Adult, bool? Urgent, string? Topic, string? Post,
    Dictionary<string, string>? Utm, string? Website, string? Stamp, string? Language = null, string? VisitPreference = null)
{
    public static PostedReferral FromForm(Dictionary<string, Microsoft.Extensions.Primitives.StringValues> form)
    {
        string? V(string name) => form.TryGetValue(name, out var v) ? v.ToString() : null;
        bool C(string name) => InterestPages.IsChecked(V(name));
        var utm = SourceAttribution.UtmKeys.Where(k => !string.IsNullOrEmpty(V(k))).ToDictionary(k => k, k => V(k)!);
        return new PostedReferral(V("name"), V("email"), V("phone"), V("state"), V("treatment"), V("contactMethod"), V("insurance"),
            V("message"), C("consent"), C("privacyAcknowledged"), C("adult"), C("urgent"), V("topic"), V("post"), utm,
            V(InterestPages.HoneypotField), V(InterestPages.StampField), V("language"), V("visitPreference"));
    }

    public ReferralSubmission ToSubmission() =>
        new(Name, Email, State, Treatment, Consent, Phone, ContactMethod, Insurance, Message, PrivacyAcknowledged, Adult, Urgent, Topic, Post, Utm, Language, VisitPreference);

    /// <summary>The values to show again on the form, so a visitor never has to retype them.</summary>
    public Dictionary<string, string?> FormValues()
    {
        var values = new Dictionary<string, string?>
        {
            ["name"] = Name, ["email"] = Email, ["phone"] = Phone, ["state"] = State, ["treatment"] = Treatment,
            ["contactMethod"] = ContactMethod, ["insurance"] = Insurance, ["message"] = Message,
            ["consent"] = Consent == true ? "yes" : null, ["privacyAcknowledged"] = PrivacyAcknowledged == true ? "yes" : null,
            ["adult"] = Adult == true ? "yes" : null, ["urgent"] = Urgent == true ? "yes" : null,
            ["topic"] = Topic, ["post"] = Post, ["language"] = Language, ["visitPreference"] = VisitPreference,
        };
        foreach (var (key, value) in Utm ?? [])
        {
            values[key] = value;
        }

        return values;
    }
}
