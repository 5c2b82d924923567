namespace Referrals.DevHost.Functions;

/// <summary>Trigger properties may name app settings as %Name%, which the host resolves from configuration.</summary>
public static class SettingNames
{
    public static string Resolve(string value, IConfiguration configuration)
    {
        if (value.Length > 2 && value[0] == '%' && value[^1] == '%')
        {
            var name = value[1..^1];
            return configuration[name] ?? throw new InvalidOperationException($"The app setting '{name}' is not set.");
        }

        return value;
    }

    /// <summary>A binding's connection: the setting itself, or its ConnectionStrings entry.</summary>
    public static string Connection(string? name, IConfiguration configuration)
    {
        name = string.IsNullOrEmpty(name) ? "AzureWebJobsStorage" : name;
        return configuration[name] ?? configuration.GetConnectionString(name)
            ?? throw new InvalidOperationException($"The connection setting '{name}' is not set.");
    }
}
