using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Referrals.Functions.Observability;

/// <summary>
/// What an exported URL may show: the path, with any segment that looks like a token replaced, and the query's keys
/// with every value replaced. Signed links carry their token in the query (?t=…), function keys come as ?code=…, and
/// nothing else the app serves needs a query value to be understood.
/// </summary>
public static partial class TelemetryRedaction
{
    public const string Redacted = "Redacted";

    /// <summary>The keys of <paramref name="query"/> (with or without its leading '?'), each value replaced.</summary>
    public static string Query(string? query)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return "";
        }

        var pairs = query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2)[0])
            .Select(key => key.Length == 0 ? Redacted : $"{(LooksLikeToken(key) ? Redacted : key)}={Redacted}");
        return "?" + string.Join('&', pairs);
    }

    /// <summary><paramref name="path"/> with every segment that looks like a token (long, or with a signature's dot) replaced.</summary>
    public static string Path(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "";
        }

        var segments = path.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            if (LooksLikeToken(Uri.UnescapeDataString(segments[i])))
            {
                segments[i] = Redacted;
            }
        }

        return string.Join('/', segments);
    }

    /// <summary>An absolute URL as an exported span may show it: no user info, the path and query redacted.</summary>
    public static string Url(Uri uri)
    {
        var builder = new StringBuilder()
            .Append(uri.Scheme).Append("://").Append(uri.IdnHost);
        if (!uri.IsDefaultPort)
        {
            builder.Append(':').Append(uri.Port);
        }

        return builder.Append(Path(uri.AbsolutePath)).Append(Query(uri.Query)).ToString();
    }

    /// <summary>Rewrites the URL tags an HTTP instrumentation set on <paramref name="activity"/>, and drops the client's details.</summary>
    public static void Scrub(Activity activity)
    {
        if (activity.GetTagItem("url.full") is string full && Uri.TryCreate(full, UriKind.Absolute, out var uri))
        {
            activity.SetTag("url.full", Url(uri));
        }

        if (activity.GetTagItem("url.path") is string path)
        {
            activity.SetTag("url.path", Path(path));
        }

        if (activity.GetTagItem("url.query") is string query)
        {
            activity.SetTag("url.query", Query(query));
        }

        // A browser's user agent and address say more about the visitor than the span needs.
        activity.SetTag("user_agent.original", null);
        activity.SetTag("client.address", null);
        activity.SetTag("client.port", null);
        activity.SetTag("network.peer.address", null);
    }

    /// <summary>
    /// A signed link's token is base64url with a dot before its signature, and well over 32 characters; references
    /// (R-XXXXX-XXXXX), route words and queue names are short.
    /// </summary>
    private static bool LooksLikeToken(string segment) => segment.Length >= 32 || TokenShape().IsMatch(segment);

    [GeneratedRegex(@"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]{16,})+$")]
    private static partial Regex TokenShape();
}
