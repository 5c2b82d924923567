using System.Globalization;
using System.Net.Mail;
using System.Text;

namespace Referrals.Core.Referrals;

/// <summary>What is wrong with an email address, if anything.</summary>
public enum EmailProblem
{
    None,
    Format,
    Invisible,
}

/// <summary>
/// An address we can send to: one mailbox (no display name, no comments), no invisible characters, and a domain that
/// is a real host name. Internationalised addresses stay valid: the domain is checked in its ASCII (IDNA) form.
/// </summary>
public static class EmailAddresses
{
    private static readonly IdnMapping Idn = new();

    public static EmailProblem Check(string address)
    {
        // Invisible characters (zero-width, bidi controls, other Cf) would make two addresses look alike.
        if (address.EnumerateRunes().Any(OneLineText.IsInvisible))
        {
            return EmailProblem.Invisible;
        }

        if (address.EnumerateRunes().Any(r => Rune.IsWhiteSpace(r) || Rune.IsControl(r)))
        {
            return EmailProblem.Format;
        }

        return MailAddress.TryCreate(address, out var parsed) && parsed.Address == address && IsHostName(parsed.Host)
            ? EmailProblem.None
            : EmailProblem.Format;
    }

    /// <summary>
    /// A DNS host name with at least two labels, after IDNA mapping: each label 1–63 letters, digits or hyphens, not
    /// starting or ending with a hyphen; the top-level label not all digits (so no IP addresses); 253 characters at most;
    /// and nothing that IDNA has to map (see below).
    /// </summary>
    public static bool IsHostName(string host)
    {
        string ascii;
        try
        {
            ascii = Idn.GetAscii(host);

            // IDNA maps look-alikes (fullwidth letters, U+2024 ONE DOT LEADER, ideographic full stops) onto host
            // characters. The address is stored and sent as typed, so the domain must already be in mapped form.
            // Each label is typed either as its ASCII form (xn--…) or as its Unicode form.
            var typed = host.Normalize(NormalizationForm.FormC).Split('.');
            var mapped = ascii.Split('.');
            if (typed.Length != mapped.Length
                || typed.Where((label, i) => !string.Equals(label, mapped[i], StringComparison.OrdinalIgnoreCase)
                    && !string.Equals(label, Idn.GetUnicode(mapped[i]), StringComparison.OrdinalIgnoreCase)).Any())
            {
                return false;
            }
        }
        catch (ArgumentException)
        {
            return false;
        }

        if (ascii.Length > 253)
        {
            return false;
        }

        var labels = ascii.Split('.');
        return labels.Length >= 2
            && labels.All(IsLabel)
            && !labels[^1].All(char.IsAsciiDigit);
    }

    private static bool IsLabel(string label) =>
        label.Length is >= 1 and <= 63
        && label[0] != '-'
        && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
