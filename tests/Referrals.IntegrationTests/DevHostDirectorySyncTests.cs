using System.Net;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Functions;
using Referrals.Functions.Routing;

namespace Referrals.IntegrationTests;

/// <summary>
/// RunOnStartup runs the directory sync on every new instance (each scale-out on Azure), so it must not undo an
/// operator's upload; only a newly deployed file replaces the directory.
/// </summary>
[Collection(PipelineCollection.Name)]
public class DevHostDirectorySyncTests(PipelineFixture fixture)
{
    private async Task<HttpResponseMessage> UploadAsync(string? csv)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/ops/specialists/sync");
        if (csv is not null)
        {
            request.Content = new StringContent(csv, System.Text.Encoding.UTF8, "text/csv");
        }

        request.Headers.Add("x-functions-key", TestKeys.Master);
        return await fixture.Http.SendAsync(request);
    }

    private Task RunStartupSyncAsync()
    {
        using var scope = fixture.Host.Services.CreateScope();
        var function = ActivatorUtilities.CreateInstance<SyncSpecialistDirectory>(scope.ServiceProvider);
        return function.Run(new TimerInfo { IsPastDue = false }, CancellationToken.None);
    }

    [Fact]
    public async Task The_startup_sync_on_a_new_instance_keeps_an_operators_upload()
    {
        var directory = fixture.Host.Services.GetRequiredService<SpecialistDirectory>();
        var deployed = await File.ReadAllLinesAsync(fixture.Host.Services.GetRequiredService<IOptions<DirectoryOptions>>().Value.SpecialistsFilePath);
        var deployedCount = (await directory.LoadAsync(CancellationToken.None)).Count;
        var uploaded = string.Join('\n', deployed.Where(l => l.Length > 0).SkipLast(1));
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await UploadAsync(uploaded)).StatusCode);

            await RunStartupSyncAsync();

            Assert.Equal(deployedCount - 1, (await directory.LoadAsync(CancellationToken.None)).Count);
        }
        finally
        {
            // The operator's explicit sync (no body) imports the deployed file again.
            Assert.Equal(HttpStatusCode.OK, (await UploadAsync(null)).StatusCode);
        }

        Assert.Equal(deployedCount, (await directory.LoadAsync(CancellationToken.None)).Count);
    }
}
