using System.Net;
using System.Text;
using Referrals.Core.Email;
using Referrals.Core.Referrals;

namespace Referrals.Functions.Operations.Dashboard;

/// <summary>
/// Puts the dashboard together from its embedded html, css and js: styles and script inline under the response's
/// nonce (no other origin, no separate requests), and the filter choices from the domain's own lists.
/// </summary>
internal static class DashboardPage
{
    private static readonly Lazy<string> Template = new(() => Resource("dashboard.html")
        .Replace("{{styles}}", Resource("dashboard.css"), StringComparison.Ordinal)
        .Replace("{{script}}", Resource("dashboard.js"), StringComparison.Ordinal)
        .Replace("{{statusOptions}}", Options(Enum.GetNames<ReferralStatus>().Select(s => (s, s))), StringComparison.Ordinal)
        .Replace("{{treatmentOptions}}", Options(Treatments.All.Select(t => (t.Code, t.DisplayName))), StringComparison.Ordinal)
        .Replace("{{topicOptions}}", Options(Topics.All.Select(t => (t.Code, t.Title))), StringComparison.Ordinal)
        .Replace("{{emailKindOptions}}", Options(Enum.GetNames<EmailKind>().Select(k => (k, k))), StringComparison.Ordinal));

    public static string Render(string nonce) => Template.Value.Replace("{{nonce}}", WebUtility.HtmlEncode(nonce), StringComparison.Ordinal);

    private static string Options(IEnumerable<(string Value, string Label)> options)
    {
        var html = new StringBuilder();
        foreach (var (value, label) in options)
        {
            html.Append("<option value=\"").Append(WebUtility.HtmlEncode(value)).Append("\">").Append(WebUtility.HtmlEncode(label)).Append("</option>");
        }

        return html.ToString();
    }

    private static string Resource(string name)
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream("dashboard/" + name)
            ?? throw new InvalidOperationException($"The dashboard's {name} is not embedded in the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
