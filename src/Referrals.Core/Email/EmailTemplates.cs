using System.Net;
using System.Text.RegularExpressions;

namespace Referrals.Core.Email;

/// <summary>
/// Email wording lives in Email/Templates (a subject, a text and an HTML file per email) so it can be edited without
/// touching code. {{name}} placeholders are filled in; values are HTML-encoded in the HTML part. A missing or unknown
/// placeholder is an error, never a silent blank. A value whose name ends in "Html" is markup that EmailContent built
/// from values it encoded itself (a digest's list), and goes into the HTML part as it is.
/// </summary>
public static partial class EmailTemplates
{
    public static string CrisisText { get; } = Read("crisis.txt").Trim();

    /// <summary>The prefix of the templates' embedded resource names (see the project file).</summary>
    internal const string ResourcePrefix = "Templates/";

    /// <summary>The name ending of a value that is already HTML (built from encoded parts).</summary>
    public const string RawHtmlSuffix = "Html";

    public static (string Subject, string Text, string Html) Render(string template, IReadOnlyDictionary<string, string> values)
    {
        var files = FilesFor(template);
        return (Fill(Read(files.Subject).Trim(), values, encode: false),
                Fill(Read(files.Text), values, encode: false),
                Fill(Read(files.Html), values, encode: true));
    }

    /// <summary>The three files an email's wording is in.</summary>
    internal static (string Subject, string Text, string Html) FilesFor(string template) =>
        ($"{template}.subject.txt", $"{template}.txt", $"{template}.html");

    private static string Fill(string template, IReadOnlyDictionary<string, string> values, bool encode) =>
        Placeholder().Replace(template, match =>
        {
            var name = match.Groups[1].Value;
            if (!values.TryGetValue(name, out var value))
            {
                throw new KeyNotFoundException($"The email template needs a value for {{{{{name}}}}}.");
            }

            return encode && !name.EndsWith(RawHtmlSuffix, StringComparison.Ordinal) ? WebUtility.HtmlEncode(value) : value;
        });

    private static string Read(string file)
    {
        using var stream = typeof(EmailTemplates).Assembly.GetManifestResourceStream(ResourcePrefix + file)
            ?? throw new FileNotFoundException($"No email template {file}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"\{\{(\w+)\}\}")]
    private static partial Regex Placeholder();
}
