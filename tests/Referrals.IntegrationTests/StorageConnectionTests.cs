using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Functions;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// The composition root builds its storage clients from the host's AzureWebJobsStorage settings, connection string or
/// identity-based. No request is sent: the clients' addresses and the credential are what is checked.
/// </summary>
public class StorageConnectionTests
{
    private static ServiceProvider Pipeline(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddReferralPipeline(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void An_account_name_points_both_clients_at_that_account_over_https()
    {
        using var services = Pipeline(new()
        {
            ["AzureWebJobsStorage:accountName"] = "referralsprod",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        });

        var tables = services.GetRequiredService<TableServiceClient>();
        var queues = services.GetRequiredService<QueueServiceClient>();

        Assert.Equal(new Uri("https://referralsprod.table.core.windows.net/"), tables.Uri);
        Assert.Equal("referralsprod", tables.AccountName);
        Assert.Equal(new Uri("https://referralsprod.queue.core.windows.net/"), queues.Uri);
        Assert.Equal("referralsprod", queues.AccountName);
        // The app's own keyed clients come from the same account.
        Assert.Equal(new Uri("https://referralsprod.table.core.windows.net/Referrals"), services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralsTable).Uri);
        Assert.Equal(new Uri("https://referralsprod.queue.core.windows.net/referral-intake"), services.GetRequiredKeyedService<QueueClient>(StorageNames.IntakeQueue).Uri);
    }

    [Fact]
    public void Service_uris_are_used_as_given_when_there_is_no_account_name()
    {
        using var services = Pipeline(new()
        {
            ["AzureWebJobsStorage:queueServiceUri"] = "https://queues.example.net/",
            ["AzureWebJobsStorage:tableServiceUri"] = "https://tables.example.net/",
        });

        Assert.Equal(new Uri("https://tables.example.net/"), services.GetRequiredService<TableServiceClient>().Uri);
        Assert.Equal(new Uri("https://queues.example.net/"), services.GetRequiredService<QueueServiceClient>().Uri);
    }

    [Fact]
    public void The_credential_is_the_configured_managed_identity_or_else_the_default_chain()
    {
        var managed = StorageConnection.Section(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage:accountName"] = "referralsprod",
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
        }).Build(), StorageNames.Connection);
        var plain = StorageConnection.Section(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage:accountName"] = "referralsprod",
        }).Build(), StorageNames.Connection);
        using var services = Pipeline(new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" });
        var factory = services.GetRequiredService<AzureComponentFactory>();

        Assert.IsType<ManagedIdentityCredential>(StorageConnection.Credential(managed, factory));
        Assert.IsType<DefaultAzureCredential>(StorageConnection.Credential(plain, factory));
    }

    [Fact]
    public void A_connection_string_wins_as_in_the_host()
    {
        using var services = Pipeline(new()
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        });

        var tables = services.GetRequiredService<TableServiceClient>();
        Assert.Equal("devstoreaccount1", tables.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), services.GetRequiredService<QueueServiceClient>().Uri);
    }

    [Fact]
    public void A_connection_string_under_ConnectionStrings_is_found_as_the_host_finds_it()
    {
        using var services = Pipeline(new()
        {
            ["ConnectionStrings:AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        });

        Assert.Equal("devstoreaccount1", services.GetRequiredService<QueueServiceClient>().AccountName);
    }

    [Fact]
    public void No_storage_setting_fails_naming_the_settings_to_set()
    {
        using var services = Pipeline([]);

        var error = Assert.ThrowsAny<Exception>(() => services.GetRequiredService<TableServiceClient>());
        var message = error.GetBaseException().Message;
        Assert.Contains("AzureWebJobsStorage__accountName", message);
        Assert.Contains("AzureWebJobsStorage__tableServiceUri", message);
    }
}
