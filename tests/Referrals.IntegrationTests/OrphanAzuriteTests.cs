using Referrals.DevHost.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// A DevHost killed before it could stop its Azurite leaves the emulator running; the next DevHost on the same ports
/// adopts it and stops it with itself, so it never stays without an owner.
/// </summary>
[Collection(PipelineCollection.Name)]
public class OrphanAzuriteTests(PipelineFixture fixture)
{
    [Fact]
    public async Task The_next_DevHost_adopts_the_Azurite_a_killed_one_left_running_and_stops_it_with_itself()
    {
        var endpoints = new StorageEndpoints(FreePort.Next(), FreePort.Next(), FreePort.Next());
        var folder = Path.Combine(Path.GetTempPath(), "referrals-azurite-" + Guid.NewGuid().ToString("N"));
        // Started as a DevHost starts it; the DevHost then "dies" without disposing it.
        await using var left = await AzuriteProcess.StartAsync(AzuriteProcess.FindExecutable(AppContext.BaseDirectory)!, endpoints, folder);
        Assert.True(File.Exists(AzuriteProcess.OwnerFile(endpoints)));

        var host = await PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = endpoints.ConnectionString,
            ["DevHost:Azurite:AutoStart"] = "true",
        });
        Assert.True(host.Azurite?.Adopted, "the running Azurite was not adopted");
        await host.DisposeAsync();

        Assert.False(await AzuriteProcess.IsAnsweringAsync(endpoints), "the adopted Azurite is still running");
        Assert.False(File.Exists(AzuriteProcess.OwnerFile(endpoints)));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task An_owner_file_naming_a_process_that_is_gone_is_not_adopted_and_is_removed()
    {
        var endpoints = new StorageEndpoints(FreePort.Next(), FreePort.Next(), FreePort.Next());
        // A pid beyond Linux's pid_max names no process.
        await File.WriteAllTextAsync(AzuriteProcess.OwnerFile(endpoints), "2147483646 638000000000000000");

        Assert.Null(AzuriteProcess.TryAdopt(endpoints));
        Assert.False(File.Exists(AzuriteProcess.OwnerFile(endpoints)));
    }
}
