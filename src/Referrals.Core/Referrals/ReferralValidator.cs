using PhoneNumbers;

namespace Referrals.Core.Referrals;

public static class ReferralValidator
{
    public const int MaxNameLength = 100;
    public const int MaxEmailLength = 254;
    public const int MaxPhoneLength = 30;
    public const int MaxInsuranceLength = 100;
    public const int MaxMessageLength = 1000;
    public const int MaxPostLength = 200;

    /// <summary>The example in the phone error; a unit test checks that the validator accepts it.</summary>
    public const string PhoneExample = "(212) 555-0123";

    public const string PhoneError = $"Enter a US phone number like {PhoneExample}, or a number with + and its country code, or leave it empty.";

    public const string EmailHiddenCharacters = "Your email address contains hidden or unusual characters, which copying and pasting can bring in. Please type it in.";

    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>Validates everything and reports each field's first problem, in words a visitor can act on.</summary>
    public static ValidationOutcome Validate(ReferralSubmission submission)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        var name = SingleLine(ReferralFields.Name, "Name", submission.Name, MaxNameLength, required: "Enter your name.", Fail, allowJoiners: true);
        var email = SingleLine(ReferralFields.Email, "Email address", submission.Email, MaxEmailLength, required: "Enter your email address.", Fail, unacceptable: EmailHiddenCharacters);
        switch (email is null ? EmailProblem.None : EmailAddresses.Check(email))
        {
            case EmailProblem.Invisible:
                Fail(ReferralFields.Email, EmailHiddenCharacters);
                break;
            case EmailProblem.Format:
                Fail(ReferralFields.Email, "Enter an email address like name@example.com.");
                break;
        }

        var phoneText = SingleLine(ReferralFields.Phone, "Phone number", submission.Phone, MaxPhoneLength, required: null, Fail);
        var phone = phoneText is null ? null : NormalisePhone(phoneText);
        if (phoneText is not null && phone is null)
        {
            Fail(ReferralFields.Phone, PhoneError);
        }

        var state = SingleLine(ReferralFields.State, "State", submission.State, 2 + 20, required: "Choose the US state you live in.", Fail);
        if (state is not null && !UsStates.IsValid(state))
        {
            Fail(ReferralFields.State, "Choose a US state from the list.");
        }

        var treatmentText = SingleLine(ReferralFields.Treatment, "Treatment", submission.Treatment, 50, required: "Choose the treatment you would like to learn about.", Fail);
        var treatment = Treatments.Find(treatmentText);
        if (treatmentText is not null && treatment is null)
        {
            Fail(ReferralFields.Treatment, "Choose a treatment from the list.");
        }

        var contact = Referrals.ContactMethod.Email;
        var contactText = SingleLine(ReferralFields.ContactMethod, "Contact method", submission.ContactMethod, 20, required: null, Fail);
        if (contactText is not null && !Enum.TryParse(contactText, ignoreCase: true, out contact))
        {
            Fail(ReferralFields.ContactMethod, "Choose email, phone call or text message.");
        }
        else if (!errors.ContainsKey(ReferralFields.ContactMethod) && contact != Referrals.ContactMethod.Email && phoneText is null)
        {
            Fail(ReferralFields.Phone, "Enter a phone number so that we can call or text you, or choose email.");
        }

        var insurance = SingleLine(ReferralFields.Insurance, "Insurance", submission.Insurance, MaxInsuranceLength, required: null, Fail, allowJoiners: true);
        // Several lines are fine here; other controls are refused before trimming, so none hides at either end.
        var message = submission.Message;
        if (message is not null && message.Any(c => char.IsControl(c) && c is not '\r' and not '\n' and not '\t'))
        {
            Fail(ReferralFields.Message, "Your message contains characters we cannot accept.");
        }
        else if (string.IsNullOrEmpty(message = message?.Trim()))
        {
            message = null;
        }
        else if (message.Length > MaxMessageLength)
        {
            Fail(ReferralFields.Message, $"Your message must be {MaxMessageLength} characters or fewer (it has {message.Length}).");
        }

        if (submission.Consent != true)
        {
            Fail(ReferralFields.Consent, "Agree to be contacted so that a specialist can reach you.");
        }

        if (submission.PrivacyAcknowledged != true)
        {
            Fail(ReferralFields.PrivacyAcknowledged, "Confirm that you have read the privacy notice.");
        }

        if (submission.Adult != true)
        {
            Fail(ReferralFields.Adult, "Confirm that you are 18 or older.");
        }

        var source = ValidateSource(submission, Fail);

        string? language = null;
        if (SingleLine(ReferralFields.Language, "Language", submission.Language, 20, required: null, Fail) is { } languageText)
        {
            language = Languages.Find(languageText)?.Code;
            if (language is null)
            {
                Fail(ReferralFields.Language, "Choose a language from the list.");
            }
        }

        var visit = Referrals.VisitPreference.Either;
        if (SingleLine(ReferralFields.VisitPreference, "Visit preference", submission.VisitPreference, 20, required: null, Fail) is { } visitText
            && !Enum.TryParse(visitText.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out visit))
        {
            Fail(ReferralFields.VisitPreference, "Choose telehealth, in person, or either.");
        }

        return errors.Count > 0
            ? new ValidationOutcome(null, errors)
            : new ValidationOutcome(
                new ValidReferral(name!, email!, UsStates.Normalize(state!), treatment!.Code, phone, contact, insurance, message, submission.Urgent == true, source, language, visit),
                errors);
    }

    /// <summary>US numbers by default; an international number needs its + prefix. Returns E.164, or null when invalid.</summary>
    public static string? NormalisePhone(string text)
    {
        try
        {
            var number = Phones.Parse(text, "US");
            return Phones.IsValidNumber(number) ? Phones.Format(number, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    private static SourceAttribution ValidateSource(ReferralSubmission submission, Action<string, string> fail)
    {
        string? topic = null;
        if (SingleLine(ReferralFields.Topic, "Topic", submission.Topic, 100, required: null, fail) is { } topicText)
        {
            topic = Topics.Find(topicText)?.Code;
            if (topic is null)
            {
                fail(ReferralFields.Topic, "The topic of the link you followed is not one we know.");
            }
        }

        var post = SingleLine(ReferralFields.Post, "Post", submission.Post, MaxPostLength, required: null, fail);
        var utm = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in submission.Utm ?? new Dictionary<string, string>())
        {
            if (!SourceAttribution.UtmKeys.Contains(key))
            {
                fail(ReferralFields.Utm, $"'{key}' is not a utm value we record.");
            }
            else if (SingleLine(ReferralFields.Utm, key, value, SourceAttribution.MaxValueLength, required: null, fail) is { } clean)
            {
                utm[key] = clean;
            }
        }

        return new SourceAttribution(topic, post, utm);
    }

    /// <summary>
    /// A one-line field: its characters are checked as posted (see <see cref="OneLineText"/>), then space separators
    /// are trimmed, then the length is checked. Joiners are allowed only where names in some scripts need them.
    /// </summary>
    private static string? SingleLine(string field, string label, string? value, int maxLength, string? required, Action<string, string> fail,
        bool allowJoiners = false, string? unacceptable = null)
    {
        if (value is not null)
        {
            switch (OneLineText.Check(value, allowJoiners))
            {
                case TextProblem.LineBreak:
                    fail(field, $"{label} must be on one line.");
                    return null;
                case TextProblem.Unacceptable:
                    fail(field, unacceptable ?? $"{label} contains characters we cannot accept.");
                    return null;
            }
        }

        var trimmed = value is null ? null : OneLineText.TrimSpaces(value);
        if (trimmed is null || OneLineText.IsBlank(trimmed))
        {
            if (required is not null)
            {
                fail(field, required);
            }

            return null;
        }

        if (trimmed.Length > maxLength)
        {
            fail(field, $"{label} must be {maxLength} characters or fewer.");
            return null;
        }

        return trimmed;
    }
}