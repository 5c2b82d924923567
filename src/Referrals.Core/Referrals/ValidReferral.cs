namespace Referrals.Core.Referrals;

public enum VisitPreference
{
    Either,
    Telehealth,
    InPerson,
}

public enum ContactMethod
{
    Email,
    Phone,
    Text,
}

/// <summary>A submission that passed validation, with normalised values (phone in E.164).</summary>
public sealed record ValidReferral(
    string Name,
    string Email,
    string State,
    string Treatment,
    string? Phone = null,
    ContactMethod ContactMethod = ContactMethod.Email,
    string? Insurance = null,
    string? Message = null,
    bool Urgent = false,
    SourceAttribution? Source = null,
    string? Language = null,
    VisitPreference VisitPreference = VisitPreference.Either);

public sealed record ValidationOutcome(ValidReferral? Referral, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool IsValid => Referral is not null;
}
