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
public sealed class ThanksToken(byte[] key)
{
    public string Create(ThanksNote note, DateTimeOffset expiresAt)
    {
        var payload = string.Join('.', note.Reference, note.Urgent ? "1" : "0", expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        return $"{payload}.{Sign(payload)}";
    }

    /// <returns>The note, or null when the value is missing, altered, signed with another key or expired.</returns>
    public ThanksNote? Read(string? token, DateTimeOffset now)
    {
        var parts = token?.Split('.');
        if (parts is not { Length: 4 }
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(string.Join('.', parts[..3]))), Encoding.ASCII.GetBytes(parts[3]))
            || !ReferralId.IsWellFormed(parts[0])
            || parts[1] is not ("0" or "1")
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || DateTimeOffset.FromUnixTimeSeconds(expires) <= now)
        {
            return null;
        }

        return new ThanksNote(parts[0], parts[1] == "1");
    }

    private string Sign(string value) => FormStamp.Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes("thanks-page:" + value)));
}
