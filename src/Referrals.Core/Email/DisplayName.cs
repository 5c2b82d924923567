using System.Globalization;
using System.Text;

namespace Referrals.Core.Email;

/// <summary>
/// SendGrid drops an email whose display name holds ',' or ';' (they separate addresses), and quotes, angle brackets
/// or control characters break the address header. A name is cleaned of them; one with nothing left is left out, so
/// the email goes to the bare address rather than nowhere.
/// </summary>
public static class DisplayName
{
    public const int MaxLength = 100;

    public static string? Clean(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        var clean = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            var unsafeChar = c is ',' or ';' or '"' or '<' or '>' or '\\' || char.IsControl(c)
                || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
            clean.Append(unsafeChar || char.IsWhiteSpace(c) ? ' ' : c);
        }

        var collapsed = string.Join(' ', clean.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return collapsed.Length == 0 ? null : collapsed.Length <= MaxLength ? collapsed : collapsed[..MaxLength].TrimEnd();
    }
}
