using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Referrals.Core.Security;

public enum StampCheck
{
    Valid,
    TooFast,
    Invalid,
}

/// <summary>
/// The form's signed render time. People take seconds to fill the form; bots post at once. The HMAC stops a bot from
/// simply writing an old time into the field.
/// </summary>
public sealed class FormStamp(byte[] key)
{
    public string Create(DateTimeOffset renderedAt)
    {
        var time = renderedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        return $"{time}.{Sign(time)}";
    }

    public StampCheck Check(string? stamp, DateTimeOffset now, TimeSpan minimumFillTime)
    {
        var parts = stamp?.Split('.');
        if (parts is not { Length: 2 }
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var millis)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(parts[0])), Encoding.ASCII.GetBytes(parts[1])))
        {
            return StampCheck.Invalid;
        }

        var renderedAt = DateTimeOffset.FromUnixTimeMilliseconds(millis);
        return renderedAt > now ? StampCheck.Invalid
            : now - renderedAt < minimumFillTime ? StampCheck.TooFast
            : StampCheck.Valid;
    }

    private string Sign(string value) =>
        Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes("form-stamp:" + value)))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Keyed hashes for values we must match later but need not read back (client addresses, dedupe keys).</summary>
public sealed class KeyedHash(byte[] key)
{
    public string Of(string purpose, string value) =>
        Convert.ToHexString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(purpose + ":" + value)))[..32].ToLowerInvariant();
}
