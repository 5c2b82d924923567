using Azure.Data.Tables;
using Azure.Storage.Queues;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// The app does not lean on the DevHost for its storage: with the DevHost's bootstrap off, as on Azure, it starts only
/// on storage that has every queue and table, and otherwise refuses naming each one missing.
/// </summary>
public class StorageStartupTests
{
    private static readonly Dictionary<string, string?> NoBootstrap = new() { ["DevHost:CreateStorage"] = "false" };

    [Fact]
    public async Task On_empty_storage_the_app_refuses_to_start_naming_each_missing_queue_and_table_and_starts_once_they_exist()
    {
        await using var azurite = await AzuriteInstance.StartAsync();

        var empty = await Assert.ThrowsAsync<InvalidOperationException>(() => PipelineFixture.StartHostAsync(azurite, extraSettings: NoBootstrap));
        Assert.All(StorageCheck.RequiredQueues, q => Assert.Contains(q, empty.Message));
        Assert.All(StorageNames.Tables, t => Assert.Contains(t, empty.Message));
        Assert.Contains(StorageNames.UrgentNotificationPoisonQueue, empty.Message);
        Assert.Contains(StorageNames.ReferralIndexTable, empty.Message);

        // Everything but one queue and one table: exactly those two are named.
        var queues = new QueueServiceClient(azurite.ConnectionString);
        var tables = new TableServiceClient(azurite.ConnectionString);
        foreach (var queue in StorageCheck.RequiredQueues.Where(q => q != StorageNames.UrgentNotificationPoisonQueue))
        {
            await queues.CreateQueueAsync(queue);
        }

        foreach (var table in StorageNames.Tables.Where(t => t != StorageNames.ReferralIndexTable))
        {
            await tables.CreateTableAsync(table);
        }

        var partial = await Assert.ThrowsAsync<InvalidOperationException>(() => PipelineFixture.StartHostAsync(azurite, extraSettings: NoBootstrap));
        Assert.Contains($"queues {StorageNames.UrgentNotificationPoisonQueue};", partial.Message);
        Assert.Contains($"tables {StorageNames.ReferralIndexTable}.", partial.Message);
        Assert.DoesNotContain(StorageNames.ReferralsTable + ",", partial.Message);

        await queues.CreateQueueAsync(StorageNames.UrgentNotificationPoisonQueue);
        await tables.CreateTableAsync(StorageNames.ReferralIndexTable);
        await using var host = await PipelineFixture.StartHostAsync(azurite, extraSettings: NoBootstrap);
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/api/health")).StatusCode);
    }
}
