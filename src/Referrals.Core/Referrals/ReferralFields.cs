namespace Referrals.Core.Referrals;

/// <summary>
/// The interest form's field names, declared once: the JSON property names, the form's input names, the values the
/// form shows again and the keys validation errors are reported under all come from here.
/// </summary>
public static class ReferralFields
{
    public const string Name = "name";
    public const string Email = "email";
    public const string Phone = "phone";
    public const string State = "state";
    public const string Treatment = "treatment";
    public const string ContactMethod = "contactMethod";
    public const string Insurance = "insurance";
    public const string Message = "message";
    public const string Consent = "consent";
    public const string PrivacyAcknowledged = "privacyAcknowledged";
    public const string Adult = "adult";
    public const string Urgent = "urgent";
    public const string Topic = "topic";
    public const string Post = "post";

    /// <summary>A JSON object of utm_* values; a form posts each <see cref="SourceAttribution.UtmKeys"/> key as a field of its own.</summary>
    public const string Utm = "utm";

    public const string Language = "language";
    public const string VisitPreference = "visitPreference";

    /// <summary>The honeypot: hidden from people, so anything in it was filled in by a bot.</summary>
    public const string Website = "website";

    /// <summary>The signed form stamp (when the form was shown; its id is the form's idempotency key).</summary>
    public const string Stamp = "stamp";

    /// <summary>The error key for a problem with the request as a whole rather than one field.</summary>
    public const string Form = "form";

    /// <summary>What a ticked checkbox posts, and what the form is given back to show it ticked.</summary>
    public const string CheckedValue = "yes";

    /// <summary>A ticked checkbox: "yes" from our form, "on" from a browser's default, "true" from scripts.</summary>
    public static bool IsChecked(string? value) =>
        value is not null && (value.Equals(CheckedValue, StringComparison.OrdinalIgnoreCase) || value.Equals("on", StringComparison.OrdinalIgnoreCase)
            || value.Equals("true", StringComparison.OrdinalIgnoreCase));
}
