namespace Referrals.Functions.Security;

/// <summary>
/// The signing secrets, by key id. New stamps, links and cookies are signed with <see cref="ActiveKeyId"/>; every key
/// still listed verifies what it signed, so a rotation keeps the links already in inboxes working (README: "Keys").
/// </summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";

    public string ActiveKeyId { get; set; } = "";

    /// <summary>Key id → secret (at least 32 characters). On Azure the secrets come from Key Vault references.</summary>
    public Dictionary<string, string> Keys { get; set; } = [];

    /// <summary>
    /// The secrets this repository ships for local runs and tests. They are public, so outside Development the app
    /// refuses to start with any of them.
    /// </summary>
    public static readonly IReadOnlySet<string> ShippedSecrets = new HashSet<string>(StringComparer.Ordinal)
    {
        "local-development-secret-key-not-for-production",
        "integration-test-secret-key-0123456789",
        "bench-secret-key-0123456789-abcdefghij",
    };
}
