using System.Text;

namespace Referrals.Core.Export;

/// <summary>
/// CSV for operators' exports (RFC 4180: comma-separated, CRLF lines, quotes doubled inside quoted cells). A cell a
/// spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe:
/// a visitor types their own name and message, and an export must never turn them into code.
/// </summary>
public static class Csv
{
    private static readonly char[] FormulaStarts = ['=', '+', '-', '@', '\t', '\r'];
    private static readonly char[] NeedsQuotes = [',', '"', '\r', '\n'];

    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (FormulaStarts.Contains(value[0]))
        {
            value = "'" + value;
        }

        return value.IndexOfAny(NeedsQuotes) >= 0 || value != value.Trim(' ')
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;
    }

    /// <summary>One line, ending in CRLF.</summary>
    public static string Line(IEnumerable<string?> cells) => string.Join(',', cells.Select(Cell)) + "\r\n";

    public static void AppendLine(StringBuilder builder, IEnumerable<string?> cells) => builder.Append(Line(cells));
}
