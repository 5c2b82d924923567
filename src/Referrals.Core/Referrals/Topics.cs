namespace Referrals.Core.Referrals;

/// <summary>A "learn more" topic a blog link can name; it preselects a treatment on the interest form.</summary>
public sealed record Topic(string Code, string Title, Treatment Treatment);

public static class Topics
{
    public static IReadOnlyList<Topic> All { get; } =
    [
        new("ketamine-for-depression", "Ketamine for treatment-resistant depression", Treatments.Consultation),
        new("iv-ketamine-infusion", "IV ketamine infusion", Treatments.IvInfusion),
        new("esketamine-nasal-spray", "Esketamine nasal spray", Treatments.Esketamine),
        new("oral-ketamine", "Oral or sublingual ketamine", Treatments.Oral),
        new("general-consultation", "General consultation", Treatments.Consultation),
    ];

    public static Topic? Find(string? code) =>
        All.FirstOrDefault(t => string.Equals(t.Code, code?.Trim(), StringComparison.OrdinalIgnoreCase));
}

/// <summary>Where a referral came from: the topic and post of the link, and its utm_* values. No personal data.</summary>
public sealed record SourceAttribution(string? Topic, string? Post, IReadOnlyDictionary<string, string> Utm)
{
    public static readonly IReadOnlyList<string> UtmKeys = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
    public const int MaxValueLength = 100;

    public static SourceAttribution None { get; } = new(null, null, new Dictionary<string, string>());
}
