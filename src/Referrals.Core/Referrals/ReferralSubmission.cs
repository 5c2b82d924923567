using System.Net.Mail;

namespace Referrals.Core.Referrals;

/// <summary>What a visitor posts. Every field is optional here so that validation, not deserialization, reports what is missing.</summary>
public sealed record ReferralSubmission(string? Name, string? Email, string? State, string? Treatment, bool? Consent);

/// <summary>A submission that passed validation, with normalised values.</summary>
public sealed record ValidReferral(string Name, string Email, string State, string Treatment);

public sealed record ValidationOutcome(ValidReferral? Referral, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool IsValid => Referral is not null;
}

public static class ReferralValidator
{
    public const int MaxNameLength = 100;
    public const int MaxEmailLength = 254;

    public static ValidationOutcome Validate(ReferralSubmission submission)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);

        var name = submission.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            errors["name"] = ["Enter your name."];
        }
        else if (name.Length > MaxNameLength)
        {
            errors["name"] = [$"Name must be {MaxNameLength} characters or fewer."];
        }
        else if (name.Any(char.IsControl))
        {
            errors["name"] = ["Name must be on one line, without control characters."];
        }

        var email = submission.Email?.Trim();
        if (string.IsNullOrEmpty(email))
        {
            errors["email"] = ["Enter your email address."];
        }
        else if (email.Length > MaxEmailLength || email.Any(char.IsControl) || !IsEmailAddress(email))
        {
            errors["email"] = ["Enter an email address like name@example.com."];
        }

        var state = submission.State?.Trim();
        if (string.IsNullOrEmpty(state))
        {
            errors["state"] = ["Choose the US state you live in."];
        }
        else if (!UsStates.IsValid(state))
        {
            errors["state"] = ["Choose a US state from the list."];
        }

        var treatment = Treatments.Find(submission.Treatment);
        if (string.IsNullOrWhiteSpace(submission.Treatment))
        {
            errors["treatment"] = ["Choose the treatment you would like to learn about."];
        }
        else if (treatment is null)
        {
            errors["treatment"] = ["Choose a treatment from the list."];
        }

        if (submission.Consent != true)
        {
            errors["consent"] = ["Agree to be contacted so that a specialist can reach you."];
        }

        return errors.Count > 0
            ? new ValidationOutcome(null, errors)
            : new ValidationOutcome(new ValidReferral(name!, email!, UsStates.Normalize(state!), treatment!.Code), errors);
    }

    private static bool IsEmailAddress(string value) =>
        MailAddress.TryCreate(value, out var parsed)
        && parsed.Address == value
        && parsed.Host.Contains('.', StringComparison.Ordinal);
}
