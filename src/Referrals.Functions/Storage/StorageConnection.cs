using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Referrals.Functions.Storage;

/// <summary>
/// The app's storage clients, read from the settings the Functions host reads for its own <c>AzureWebJobsStorage</c>,
/// so the app and its queue triggers always talk to the same account:
/// <list type="bullet">
/// <item>a connection string (Azurite locally): <c>AzureWebJobsStorage=UseDevelopmentStorage=true</c>;</item>
/// <item>identity-based (Azure): <c>AzureWebJobsStorage__accountName</c>, or <c>__queueServiceUri</c> and
/// <c>__tableServiceUri</c>, with <c>__credential=managedidentity</c> and <c>__clientId</c> for a user-assigned identity
/// (without them, DefaultAzureCredential).</item>
/// </list>
/// As in the host, a connection string wins over the identity-based keys.
/// </summary>
public static class StorageConnection
{
    public static IServiceCollection AddReferralStorage(this IServiceCollection services, IConfiguration configuration)
    {
        var section = Section(configuration, StorageNames.Connection);
        // Microsoft.Extensions.Azure forwards the Azure SDK's own event logs to ILogger. Their request lines name table
        // rows (a referral's id next to its email kinds, such as the urgent alert), so they stay silent; a storage
        // failure still surfaces as the exception the caller logs by ids.
        services.AddLogging(logging => logging.AddFilter("Azure", LogLevel.None));
        services.AddAzureClients(clients =>
        {
            clients.AddClient<TableServiceClient, TableClientOptions>((options, credential) => Tables(section, credential, options))
                .WithCredential(sp => Credential(section, sp.GetRequiredService<AzureComponentFactory>()));
            clients.AddClient<QueueServiceClient, QueueClientOptions>((options, credential) => Queues(section, credential, options))
                .WithCredential(sp => Credential(section, sp.GetRequiredService<AzureComponentFactory>()))
                // The queue trigger decodes Base64 by default (host.json extensions.queues.messageEncoding).
                .ConfigureOptions(options => options.MessageEncoding = QueueMessageEncoding.Base64);
        });
        return services;
    }

    /// <summary>The connection's section, looked up as the host does: ConnectionStrings first, then the app setting.</summary>
    public static IConfigurationSection Section(IConfiguration configuration, string name) =>
        configuration.GetSection("ConnectionStrings")[name] is not null ? configuration.GetSection($"ConnectionStrings:{name}") : configuration.GetSection(name);

    /// <summary>True when the connection is the identity-based form (no connection string).</summary>
    public static bool IsIdentityBased(IConfigurationSection section) => string.IsNullOrEmpty(section.Value);

    /// <summary>
    /// The credential the host would use for this connection: the one its <c>credential</c>, <c>clientId</c>… keys
    /// describe (Microsoft.Extensions.Azure reads them as the host does), otherwise DefaultAzureCredential.
    /// </summary>
    public static TokenCredential Credential(IConfigurationSection section, AzureComponentFactory factory) =>
        factory.CreateTokenCredential(section);

    public static TableServiceClient Tables(IConfigurationSection section, TokenCredential credential, TableClientOptions options) =>
        IsIdentityBased(section) ? new TableServiceClient(ServiceUri(section, "table"), credential, options) : new TableServiceClient(section.Value, options);

    public static QueueServiceClient Queues(IConfigurationSection section, TokenCredential credential, QueueClientOptions options) =>
        IsIdentityBased(section) ? new QueueServiceClient(ServiceUri(section, "queue"), credential, options) : new QueueServiceClient(section.Value, options);

    /// <summary>
    /// As the host's StorageClientProvider: <c>accountName</c> gives https://{account}.{service}.core.windows.net,
    /// otherwise <c>{service}ServiceUri</c> is used as it is.
    /// </summary>
    public static Uri ServiceUri(IConfigurationSection section, string service)
    {
        if (section["accountName"] is { Length: > 0 } account)
        {
            return new Uri($"https://{account}.{service}.core.windows.net");
        }

        if (section[$"{service}ServiceUri"] is { Length: > 0 } uri)
        {
            return new Uri(uri);
        }

        var setting = section.Path.Replace(":", "__", StringComparison.Ordinal);
        throw new InvalidOperationException(
            $"No storage account for the {service} service: set {setting} to a connection string, or {setting}__accountName " +
            $"(or {setting}__{service}ServiceUri) for an identity-based connection.");
    }
}
