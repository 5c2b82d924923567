namespace Referrals.Core.Routing;

/// <summary>A date range a specialist is away, inclusive, in the specialist's own time zone.</summary>
public sealed record OutOfOffice(DateOnly From, DateOnly To)
{
    public bool Covers(DateOnly day) => day >= From && day <= To;
}

public sealed record Specialist(
    string Id,
    string Name,
    string Practice,
    string Email,
    IReadOnlySet<string> LicensedStates,
    IReadOnlySet<string> Treatments,
    bool RemsCertified,
    bool Telehealth,
    bool InPerson,
    bool AcceptingNewPatients,
    int WeeklyCapacity,
    IReadOnlySet<string> Languages,
    IReadOnlySet<string> InsuranceNetworks,
    IReadOnlyList<OutOfOffice> OutOfOffice,
    string TimeZone)
{
    public bool IsOutOfOffice(DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(TimeZone));
        return OutOfOffice.Any(o => o.Covers(DateOnly.FromDateTime(local.DateTime)));
    }
}
