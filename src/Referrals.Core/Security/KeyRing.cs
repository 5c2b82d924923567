using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Referrals.Core.Security;

/// <summary>What a derived key is for. Each purpose gets its own key, so one can never stand in for another.</summary>
public static class KeyPurpose
{
    public const string FormStamp = "form-stamp";
    public const string SignedLinks = "signed-links";
    public const string KeyedHash = "keyed-hash";
    public const string ThanksCookie = "thanks-cookie";
}

/// <summary>
/// The configured secrets by key id. New tokens are signed with the active key and carry its id; tokens signed with an
/// older key keep working while that key stays in the ring, so keys can be rotated without breaking links in inboxes.
/// Per-purpose keys are derived with HKDF, so the secrets themselves never sign anything.
/// </summary>
public sealed partial class KeyRing
{
    public const int MinimumSecretLength = 32;

    private readonly Dictionary<(string KeyId, string Purpose), byte[]> derived = [];

    public KeyRing(string activeKeyId, IReadOnlyDictionary<string, string> secrets)
    {
        if (!secrets.ContainsKey(activeKeyId))
        {
            throw new ArgumentException($"The active key '{activeKeyId}' is not among the configured keys.", nameof(activeKeyId));
        }

        foreach (var (id, secret) in secrets)
        {
            if (!IsValidKeyId(id))
            {
                throw new ArgumentException($"Key id '{id}' must be 1 to 32 letters, digits, '-' or '_'.", nameof(secrets));
            }

            if (secret.Length < MinimumSecretLength)
            {
                throw new ArgumentException($"Key '{id}' is shorter than {MinimumSecretLength} characters.", nameof(secrets));
            }

            foreach (var purpose in new[] { KeyPurpose.FormStamp, KeyPurpose.SignedLinks, KeyPurpose.KeyedHash, KeyPurpose.ThanksCookie })
            {
                derived[(id, purpose)] = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, info: Encoding.UTF8.GetBytes("referrals:" + purpose));
            }
        }

        ActiveKeyId = activeKeyId;
    }

    public string ActiveKeyId { get; }

    /// <summary>The active key for a purpose: what new tokens are signed with.</summary>
    public byte[] Active(string purpose) => derived[(ActiveKeyId, purpose)];

    /// <summary>The key a token names, or null when the ring no longer (or never) held it.</summary>
    public byte[]? Find(string keyId, string purpose) => derived.GetValueOrDefault((keyId, purpose));

    public static bool IsValidKeyId(string id) => KeyIdPattern().IsMatch(id);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex KeyIdPattern();
}
