using System.Text.Json.Serialization;

namespace Referrals.Core.Referrals;

/// <summary>
/// What a visitor posts, from the form or as JSON: the one input model. Every field is optional here so that
/// validation, not parsing, reports what is missing. Its names are <see cref="ReferralFields"/>: the JSON binding reads
/// them from the attributes, <see cref="FromForm"/> and <see cref="FormValues"/> from the same constants.
/// </summary>
public sealed record ReferralSubmission(
    [property: JsonPropertyName(ReferralFields.Name)] string? Name,
    [property: JsonPropertyName(ReferralFields.Email)] string? Email,
    [property: JsonPropertyName(ReferralFields.State)] string? State,
    [property: JsonPropertyName(ReferralFields.Treatment)] string? Treatment,
    [property: JsonPropertyName(ReferralFields.Consent)] bool? Consent,
    [property: JsonPropertyName(ReferralFields.Phone)] string? Phone = null,
    [property: JsonPropertyName(ReferralFields.ContactMethod)] string? ContactMethod = null,
    [property: JsonPropertyName(ReferralFields.Insurance)] string? Insurance = null,
    [property: JsonPropertyName(ReferralFields.Message)] string? Message = null,
    [property: JsonPropertyName(ReferralFields.PrivacyAcknowledged)] bool? PrivacyAcknowledged = null,
    [property: JsonPropertyName(ReferralFields.Adult)] bool? Adult = null,
    [property: JsonPropertyName(ReferralFields.Urgent)] bool? Urgent = null,
    [property: JsonPropertyName(ReferralFields.Topic)] string? Topic = null,
    [property: JsonPropertyName(ReferralFields.Post)] string? Post = null,
    [property: JsonPropertyName(ReferralFields.Utm)] IReadOnlyDictionary<string, string>? Utm = null,
    [property: JsonPropertyName(ReferralFields.Language)] string? Language = null,
    [property: JsonPropertyName(ReferralFields.VisitPreference)] string? VisitPreference = null,
    [property: JsonPropertyName(ReferralFields.Website)] string? Website = null,
    [property: JsonPropertyName(ReferralFields.Stamp)] string? Stamp = null)
{
    /// <summary>Reads a form post; <paramref name="field"/> gives a field's posted value, or null when it was not posted.</summary>
    public static ReferralSubmission FromForm(Func<string, string?> field)
    {
        bool Checked(string name) => ReferralFields.IsChecked(field(name));
        var utm = SourceAttribution.UtmKeys.Select(k => (Key: k, Value: field(k))).Where(u => !string.IsNullOrEmpty(u.Value)).ToDictionary(u => u.Key, u => u.Value!);
        return new ReferralSubmission(
            Name: field(ReferralFields.Name),
            Email: field(ReferralFields.Email),
            State: field(ReferralFields.State),
            Treatment: field(ReferralFields.Treatment),
            Consent: Checked(ReferralFields.Consent),
            Phone: field(ReferralFields.Phone),
            ContactMethod: field(ReferralFields.ContactMethod),
            Insurance: field(ReferralFields.Insurance),
            Message: field(ReferralFields.Message),
            PrivacyAcknowledged: Checked(ReferralFields.PrivacyAcknowledged),
            Adult: Checked(ReferralFields.Adult),
            Urgent: Checked(ReferralFields.Urgent),
            Topic: field(ReferralFields.Topic),
            Post: field(ReferralFields.Post),
            Utm: utm,
            Language: field(ReferralFields.Language),
            VisitPreference: field(ReferralFields.VisitPreference),
            Website: field(ReferralFields.Website),
            Stamp: field(ReferralFields.Stamp));
    }

    /// <summary>
    /// The values to show again on the form, by field name, so a visitor never has to retype them. Not the honeypot
    /// or the stamp: the form writes a stamp of its own choosing.
    /// </summary>
    public Dictionary<string, string?> FormValues()
    {
        static string? Tick(bool? value) => value == true ? ReferralFields.CheckedValue : null;
        var values = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [ReferralFields.Name] = Name,
            [ReferralFields.Email] = Email,
            [ReferralFields.Phone] = Phone,
            [ReferralFields.State] = State,
            [ReferralFields.Treatment] = Treatment,
            [ReferralFields.ContactMethod] = ContactMethod,
            [ReferralFields.Insurance] = Insurance,
            [ReferralFields.Message] = Message,
            [ReferralFields.Consent] = Tick(Consent),
            [ReferralFields.PrivacyAcknowledged] = Tick(PrivacyAcknowledged),
            [ReferralFields.Adult] = Tick(Adult),
            [ReferralFields.Urgent] = Tick(Urgent),
            [ReferralFields.Topic] = Topic,
            [ReferralFields.Post] = Post,
            [ReferralFields.Language] = Language,
            [ReferralFields.VisitPreference] = VisitPreference,
        };
        foreach (var (key, value) in Utm ?? new Dictionary<string, string>())
        {
            values[key] = value;
        }

        return values;
    }
}
