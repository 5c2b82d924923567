using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Referrals.IntegrationTests;

/// <summary>Intake while storage is away: a 503 problem with Retry-After (never a 500 or a hang), then 202 when it is back.</summary>
[Collection(PipelineCollection.Name)]
public class IntakeOutageTests(PipelineFixture fixture)
{
    private static Dictionary<string, object?> Json(string email) => new()
    {
        ["name"] = "Jane Doe", ["email"] = email, ["state"] = "NY", ["treatment"] = "iv-ketamine-infusion",
        ["consent"] = true, ["privacyAcknowledged"] = true, ["adult"] = true,
    };

    private static HttpRequestMessage Post(Dictionary<string, object?> body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    [Fact]
    public async Task Intake_answers_a_503_problem_with_Retry_After_while_Azurite_is_down_and_accepts_the_retry_once_it_is_back()
    {
        await using var azurite = await RestartableAzurite.StartAsync();
        // The suite's settings (its Azurite only supplies them), pointed at the Azurite this test stops.
        await using var host = await PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
        });
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(90) };

        var first = await http.SendAsync(Post(Json($"visitor-{Guid.NewGuid():N}@example.com"), Guid.NewGuid().ToString()));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        // Let Azurite save its metadata (on a timer) before the kill, so the restart finds the app's tables and queues.
        await Task.Delay(TimeSpan.FromSeconds(6));

        await azurite.StopAsync();
        var key = Guid.NewGuid().ToString();
        var body = Json($"visitor-{Guid.NewGuid():N}@example.com");
        var watch = Stopwatch.StartNew();
        var down = await http.SendAsync(Post(body, key));
        watch.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("application/problem+json", down.Content.Headers.ContentType!.MediaType);
        Assert.Equal(503, (int)(await down.Content.ReadFromJsonAsync<JsonObject>())!["status"]!);
        Assert.NotNull(down.Headers.RetryAfter?.Delta);
        Console.WriteLine($"503 while storage was down after {watch.Elapsed.TotalSeconds:F1} s");

        await azurite.StartAgainAsync();
        var back = await Eventually.UntilAsync(async () => await http.SendAsync(Post(body, key)), r => r.StatusCode == HttpStatusCode.Accepted,
            TimeSpan.FromSeconds(60), "intake to accept the retry after the restart");
        Assert.Equal(HttpStatusCode.Accepted, back.StatusCode);
    }
}
