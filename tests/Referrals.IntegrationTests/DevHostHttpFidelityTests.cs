using System.Net;

namespace Referrals.IntegrationTests;

/// <summary>HTTP answers the DevHost gives exactly as the Functions host would.</summary>
[Collection(PipelineCollection.Name)]
public class DevHostHttpFidelityTests(PipelineFixture fixture)
{
    [Fact]
    public async Task A_method_the_trigger_does_not_declare_gets_404_as_on_the_functions_host()
    {
        var deleteIntake = await fixture.Http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/referrals"));
        var postStatus = await fixture.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/referrals/R-00000-00000"));
        var putHealth = await fixture.Http.SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/health"));

        Assert.Equal(HttpStatusCode.NotFound, deleteIntake.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, postStatus.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, putHealth.StatusCode);
        Assert.Empty(deleteIntake.Content.Headers.Allow);
    }

    [Fact]
    public async Task A_declared_method_on_the_same_route_is_still_served()
    {
        var response = await fixture.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/health"));

        Assert.NotEqual(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotEqual(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }
}
