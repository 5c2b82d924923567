namespace Referrals.Core.Referrals;

public sealed record Language(string Code, string Name);

/// <summary>Languages a visitor can ask to be seen in; codes match the specialist directory's.</summary>
public static class Languages
{
    public static IReadOnlyList<Language> All { get; } =
    [
        new("en", "English"), new("es", "Spanish"), new("zh", "Chinese"), new("ko", "Korean"), new("ar", "Arabic"),
        new("hi", "Hindi"), new("ta", "Tamil"), new("pl", "Polish"), new("cs", "Czech"), new("it", "Italian"),
        new("de", "German"), new("he", "Hebrew"), new("ig", "Igbo"), new("tw", "Twi"),
    ];

    public static Language? Find(string? code) =>
        All.FirstOrDefault(l => string.Equals(l.Code, code?.Trim(), StringComparison.OrdinalIgnoreCase));
}
