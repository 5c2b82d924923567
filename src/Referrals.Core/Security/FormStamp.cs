using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Referrals.Core.Security;

public enum StampCheck
{
    Valid,

    /// <summary>Genuine, but sent sooner after the form was shown than a person takes (or autofill and a quick tap).</summary>
    TooFast,

    /// <summary>Genuine, but the form was shown longer ago than a stamp lives (or it predates stamps with ids).</summary>
    Expired,

    /// <summary>Missing, forged or signed with another key.</summary>
    Invalid,
}

/// <summary>The outcome of a stamp check; <see cref="Id"/> is the stamp's random id when it is genuine.</summary>
public sealed record StampResult(StampCheck Check, string? Id = null);

/// <summary>
/// The form's signed render time and a random id, under a key id. People take seconds to fill the form; bots post at
/// once. The HMAC stops a bot from simply writing an old time into the field; the id binds the stamp to one submission.
/// </summary>
public sealed class FormStamp(KeyRing keys)
{
    public string Create(DateTimeOffset renderedAt)
    {
        var time = renderedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var payload = $"{keys.ActiveKeyId}.{time}.{Base64Url(RandomNumberGenerator.GetBytes(12))}";
        return $"{payload}.{Sign(keys.Active(KeyPurpose.FormStamp), payload)}";
    }

    public StampResult Check(string? stamp, DateTimeOffset now, TimeSpan minimumFillTime, TimeSpan lifetime)
    {
        // A key leaves the ring long after the last stamp it signed expired (README: "Keys"), so a stamp naming a key
        // the ring does not hold is forged, like one whose signature does not match.
        var parts = stamp?.Split('.');
        if (parts is not { Length: 4 } || keys.Find(parts[0], KeyPurpose.FormStamp) is not { } key
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var millis)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(key, string.Join('.', parts[..3]))), Encoding.ASCII.GetBytes(parts[3])))
        {
            return new StampResult(StampCheck.Invalid);
        }

        // Only our instances can sign, so a time ahead of ours is clock skew between them, not forgery.
        var age = now - DateTimeOffset.FromUnixTimeMilliseconds(millis);
        var check = age < minimumFillTime ? StampCheck.TooFast : age > lifetime ? StampCheck.Expired : StampCheck.Valid;
        return new StampResult(check, parts[2]);
    }

    private static string Sign(byte[] key, string value) => Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(value)));

    internal static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// Keyed hashes for values we must match later but need not read back (client addresses, dedupe keys), under the
/// active key: a rotation starts the windows they guard afresh (README: "Keys").
/// </summary>
public sealed class KeyedHash(KeyRing keys)
{
    private readonly byte[] key = keys.Active(KeyPurpose.KeyedHash);

    public string Of(string purpose, string value) =>
        Convert.ToHexString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(purpose + ":" + value)))[..32].ToLowerInvariant();
}
