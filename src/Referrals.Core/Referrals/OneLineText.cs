using System.Globalization;
using System.Text;

namespace Referrals.Core.Referrals;

/// <summary>What is wrong with the characters of a one-line value, if anything.</summary>
public enum TextProblem
{
    None,
    LineBreak,
    Unacceptable,
}

/// <summary>
/// The characters a one-line field may hold. Checked on the value as posted, before trimming: trimming first would
/// hide a line break or control character at either end. Only space separators (Unicode Zs, such as the space, the
/// no-break space and the ideographic space) are trimmed.
/// </summary>
public static class OneLineText
{
    public const char ZeroWidthNonJoiner = '\u200C';
    public const char ZeroWidthJoiner = '\u200D';

    /// <summary>
    /// Line breaks, controls, broken UTF-16 and invisible format characters (Unicode Cf: zero-width space, soft hyphen,
    /// bidi controls and overrides, word joiner, BOM, tags). With <paramref name="allowJoiners"/>, the zero-width
    /// joiner and non-joiner are kept: they change how letters join in Persian, Arabic, Indic scripts and Sinhala, so
    /// names in those scripts need them. Bidi controls are never needed in a one-line value: browsers order it already.
    /// </summary>
    public static TextProblem Check(string value, bool allowJoiners)
    {
        var problem = TextProblem.None;
        for (var i = 0; i < value.Length;)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return TextProblem.Unacceptable; // a lone surrogate
            }

            i += consumed;
            if (IsLineBreak(rune))
            {
                return TextProblem.LineBreak;
            }

            var category = Rune.GetUnicodeCategory(rune);
            if (category == UnicodeCategory.Control
                || (category == UnicodeCategory.Format && !(allowJoiners && rune.Value is ZeroWidthJoiner or ZeroWidthNonJoiner)))
            {
                problem = TextProblem.Unacceptable; // keep looking: a line break elsewhere gets the clearer message
            }
        }

        return problem;
    }

    /// <summary>Mandatory line breaks in Unicode: LF, VT, FF, CR, NEL, line and paragraph separators.</summary>
    public static bool IsLineBreak(Rune rune) => rune.Value is '\n' or '\v' or '\f' or '\r' or '\u0085' or '\u2028' or '\u2029';

    /// <summary>
    /// Characters that show nothing: format characters (Cf) and the other default-ignorable code points, such as the
    /// Hangul fillers, the combining grapheme joiner and variation selectors. An email address never needs them.
    /// </summary>
    public static bool IsInvisible(Rune rune) =>
        Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format
        || rune.Value is 0x034F or 0x115F or 0x1160 or 0x17B4 or 0x17B5 or 0x3164 or 0xFFA0
        || rune.Value is >= 0x180B and <= 0x180F
        || rune.Value is >= 0xFE00 and <= 0xFE0F
        || rune.Value is >= 0xE0000 and <= 0xE0FFF;

    /// <summary>Trims space separators (Zs) only; line breaks and controls were refused before this.</summary>
    public static string TrimSpaces(string value)
    {
        var start = 0;
        var end = value.Length;
        while (start < end && char.GetUnicodeCategory(value[start]) == UnicodeCategory.SpaceSeparator)
        {
            start++;
        }

        while (end > start && char.GetUnicodeCategory(value[end - 1]) == UnicodeCategory.SpaceSeparator)
        {
            end--;
        }

        return value[start..end];
    }

    /// <summary>True when nothing would show: only space separators and invisible characters.</summary>
    public static bool IsBlank(string value) =>
        value.EnumerateRunes().All(r => IsInvisible(r) || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator);
}
