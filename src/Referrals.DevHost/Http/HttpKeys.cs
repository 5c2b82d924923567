namespace Referrals.DevHost.Http;

/// <summary>
/// Keys for HTTP functions, as the Functions host keeps them: the master key (admin), host keys, and per-function keys.
/// </summary>
public sealed class HttpKeyOptions
{
    public string Master { get; set; } = "";
    public Dictionary<string, string> Host { get; set; } = [];
    public Dictionary<string, Dictionary<string, string>> Functions { get; set; } = [];
}

public enum AuthLevel
{
    Anonymous,
    Function,
    Admin,
}

/// <summary>The host's rule: "function" accepts the master key, any host key or the function's own key; "admin" only the master key.</summary>
public static class HttpKeyCheck
{
    public const string HeaderName = "x-functions-key";
    public const string QueryName = "code";

    public static AuthLevel Parse(string? authLevel) => authLevel?.ToLowerInvariant() switch
    {
        null or "anonymous" => AuthLevel.Anonymous,
        "function" => AuthLevel.Function,
        "admin" => AuthLevel.Admin,
        var other => throw new NotSupportedException($"authLevel '{other}' is not supported."),
    };

    public static bool IsAuthorized(AuthLevel required, string functionName, string? presentedKey, HttpKeyOptions keys)
    {
        if (required == AuthLevel.Anonymous)
        {
            return true;
        }

        if (string.IsNullOrEmpty(presentedKey))
        {
            return false;
        }

        if (Matches(presentedKey, keys.Master))
        {
            return true;
        }

        return required == AuthLevel.Function
            && (keys.Host.Values.Any(k => Matches(presentedKey, k))
                || (keys.Functions.TryGetValue(functionName, out var own) && own.Values.Any(k => Matches(presentedKey, k))));
    }

    private static bool Matches(string presented, string expected) =>
        !string.IsNullOrEmpty(expected)
        && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(presented), System.Text.Encoding.UTF8.GetBytes(expected));
}
