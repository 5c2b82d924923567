using System.Security.Cryptography;

namespace Referrals.Core.Referrals;

/// <summary>
/// A referral's id doubles as the reference the visitor sees, so it is short, unambiguous when read aloud
/// (Crockford base32: no I, L, O or U) and unguessable (50 random bits).
/// </summary>
public static class ReferralId
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private const int Length = 10;

    public static string New()
    {
        Span<char> chars = stackalloc char[Length];
        for (var i = 0; i < Length; i++)
        {
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return $"R-{chars[..5]}-{chars[5..]}";
    }

    public static bool IsWellFormed(string? id) =>
        id is { Length: 13 } && id.StartsWith("R-", StringComparison.Ordinal) && id[7] == '-'
        && id.AsSpan(2, 5).IndexOfAnyExcept(Alphabet) < 0 && id.AsSpan(8, 5).IndexOfAnyExcept(Alphabet) < 0;
}
