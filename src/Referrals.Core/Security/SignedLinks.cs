using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Referrals.Core.Security;

public enum LinkAction
{
    /// <summary>A specialist's view of a referral, with Accept and Decline.</summary>
    Respond,

    /// <summary>The triage coordinator's view of a referral nobody matched.</summary>
    Triage,

    /// <summary>The visitor withdraws their request and has their details erased.</summary>
    Withdraw,

    /// <summary>An operator's view of a referral, from the alert that it needs attention now.</summary>
    Review,
}

/// <summary>What a link grants: one action on one referral, for one specialist's assignment, until it expires.</summary>
public sealed record LinkClaims(LinkAction Action, string ReferralId, string Subject, int Assignment, DateTimeOffset ExpiresAt);

public enum LinkCheck
{
    Valid,
    Invalid,
    Expired,
}

/// <summary>
/// HMAC-signed links for emails. The token names the key that signed it, carries its claims in the clear (ids only,
/// never health data) and a signature over them; it cannot be altered or extended without the key. A token signed
/// with a key that has left the ring is invalid.
/// </summary>
public sealed class SignedLinks(KeyRing keys)
{
    public string Create(LinkClaims claims)
    {
        var payload = string.Join('|', claims.Action, claims.ReferralId, claims.Subject,
            claims.Assignment.ToString(CultureInfo.InvariantCulture), claims.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        return $"{keys.ActiveKeyId}.{Base64Url(Encoding.UTF8.GetBytes(payload))}.{Base64Url(Sign(keys.Active(KeyPurpose.SignedLinks), payload))}";
    }

    public LinkCheck Verify(string? token, DateTimeOffset now, out LinkClaims? claims)
    {
        claims = null;
        var parts = token?.Split('.');
        if (parts is not { Length: 3 } || keys.Find(parts[0], KeyPurpose.SignedLinks) is not { } key
            || FromBase64Url(parts[1]) is not { } payloadBytes || FromBase64Url(parts[2]) is not { } signature)
        {
            return LinkCheck.Invalid;
        }

        var payload = Encoding.UTF8.GetString(payloadBytes);
        if (!CryptographicOperations.FixedTimeEquals(Sign(key, payload), signature))
        {
            return LinkCheck.Invalid;
        }

        var fields = payload.Split('|');
        if (fields.Length != 5 || !Enum.TryParse<LinkAction>(fields[0], out var action)
            || !int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var assignment)
            || !long.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return LinkCheck.Invalid;
        }

        claims = new LinkClaims(action, fields[1], fields[2], assignment, DateTimeOffset.FromUnixTimeSeconds(expires));
        return claims.ExpiresAt <= now ? LinkCheck.Expired : LinkCheck.Valid;
    }

    private static byte[] Sign(byte[] key, string payload) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(payload));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[]? FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
