using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Referrals.Core.Referrals;

namespace Referrals.Core.Security;

/// <summary>What the thank-you page may show, as the POST that created the referral left it.</summary>
public sealed record ThanksNote(string Reference, bool Urgent);

/// <summary>
/// The short-lived signed value behind the thank-you page. The page never looks a reference up: it shows only what
/// this value, set by the POST that created the referral, says. Its own purpose string keeps it from ever passing
/// for a stamp or a link signed with the same key.
/// </summary>
public sealed class ThanksToken(KeyRing keys)
{
    public string Create(ThanksNote note, DateTimeOffset expiresAt)
    {
        var payload = string.Join('.', keys.ActiveKeyId, note.Reference, note.Urgent ? "1" : "0", expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        return $"{payload}.{Sign(keys.Active(KeyPurpose.ThanksCookie), payload)}";
    }

    /// <returns>The note, or null when the value is missing, altered, signed with another key or expired.</returns>
    public ThanksNote? Read(string? token, DateTimeOffset now)
    {
        var parts = token?.Split('.');
        if (parts is not { Length: 5 }
            || keys.Find(parts[0], KeyPurpose.ThanksCookie) is not { } key
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(key, string.Join('.', parts[..4]))), Encoding.ASCII.GetBytes(parts[4]))
            || !ReferralId.IsWellFormed(parts[1])
            || parts[2] is not ("0" or "1")
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || DateTimeOffset.FromUnixTimeSeconds(expires) <= now)
        {
            return null;
        }

        return new ThanksNote(parts[1], parts[2] == "1");
    }

    private static string Sign(byte[] key, string value) => FormStamp.Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(value)));
}
