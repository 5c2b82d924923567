namespace Referrals.Core.Referrals;

/// <summary>A treatment a visitor can ask about; codes are stable identifiers stored with referrals and specialists.</summary>
public sealed record Treatment(string Code, string DisplayName);

public static class Treatments
{
    public static readonly Treatment IvInfusion = new("iv-ketamine-infusion", "IV ketamine infusion");
    public static readonly Treatment Esketamine = new("esketamine-nasal-spray", "Esketamine nasal spray");
    public static readonly Treatment Oral = new("oral-ketamine", "Oral or sublingual ketamine");
    public static readonly Treatment Consultation = new("consultation", "General consultation");

    public static IReadOnlyList<Treatment> All { get; } = [IvInfusion, Esketamine, Oral, Consultation];

    public static Treatment? Find(string? code) =>
        All.FirstOrDefault(t => string.Equals(t.Code, code?.Trim(), StringComparison.OrdinalIgnoreCase));
}
