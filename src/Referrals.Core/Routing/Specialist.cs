namespace Referrals.Core.Routing;

public sealed record Specialist(
    string Id,
    string Name,
    string Email,
    IReadOnlySet<string> LicensedStates,
    IReadOnlySet<string> Treatments,
    bool AcceptingNewPatients);
