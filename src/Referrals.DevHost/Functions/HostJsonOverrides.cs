using System.Text.Json.Nodes;

namespace Referrals.DevHost.Functions;

/// <summary>
/// The Functions host's way of overriding host.json from app settings: it reads host.json as configuration under
/// <c>AzureFunctionsJobHost</c> and lets later sources win, so <c>AzureFunctionsJobHost__extensions__queues__visibilityTimeout</c>
/// (an environment variable, an app setting, a local.settings.json value) replaces that one value. The DevHost applies the
/// same keys over host.json before reading it, so local runs get their fast values the way Azure would.
/// </summary>
public static class HostJsonOverrides
{
    public const string Section = "AzureFunctionsJobHost";

    public static JsonObject Apply(JsonObject hostJson, IConfiguration? configuration)
    {
        if (configuration is null)
        {
            return hostJson;
        }

        foreach (var (key, value) in configuration.GetSection(Section).AsEnumerable(makePathsRelative: true))
        {
            if (value is null)
            {
                continue; // a section, not a value
            }

            var path = key.Split(ConfigurationPath.KeyDelimiter);
            var node = hostJson;
            foreach (var name in path[..^1])
            {
                node = Child(node, name) as JsonObject ?? Set(node, name, new JsonObject());
            }

            Set(node, path[^1], JsonValue.Create(value));
        }

        return hostJson;
    }

    // Configuration keys are case-insensitive, as host.json's are to the host: an override replaces the property whatever its casing.
    private static JsonNode? Child(JsonObject parent, string name) =>
        parent.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    private static T Set<T>(JsonObject parent, string name, T value) where T : JsonNode
    {
        var existing = parent.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Key;
        parent[existing ?? name] = value;
        return value;
    }
}
