using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Referrals.Core.Referrals;
using Referrals.Functions.Security;

namespace Referrals.IntegrationTests;

/// <summary>
/// What visitors and specialists see while storage is away: the status resource and the signed-link pages answer
/// 503 with Retry-After and say to try again (never the host's bare 500), and a learn-more link still reaches the form.
/// </summary>
[Collection(PipelineCollection.Name)]
public class StorageOutagePageTests(PipelineFixture fixture)
{
    [Fact]
    public async Task While_Azurite_is_down_the_visitor_and_specialist_pages_answer_503_with_Retry_After_and_learn_more_still_reaches_the_form()
    {
        await using var azurite = await RestartableAzurite.StartAsync();
        await using var host = await PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
        });
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(90) };
        var links = host.Services.GetRequiredService<ReferralLinks>();
        var id = ReferralId.New();
        string Link(string url) => new Uri(url).PathAndQuery;

        await azurite.StopAsync();
        // Concurrently: each waits out the storage client's retries, so one after another would take a while.
        var status = http.GetAsync($"/api/referrals/{id}");
        var respond = http.GetAsync(Link(links.RespondUrl(id, "sp-any", 1)));
        var withdraw = http.GetAsync(Link(links.WithdrawUrl(id)));
        var withdrawToken = System.Web.HttpUtility.ParseQueryString(new Uri(links.WithdrawUrl(id)).Query)["t"]!;
        var withdrawPost = http.PostAsync("/" + ReferralLinks.WithdrawPath, new FormUrlEncodedContent([new("t", withdrawToken)]));
        var triage = http.GetAsync(Link(links.TriageUrl(id, 1)));
        var review = http.GetAsync(Link(links.ReviewUrl(id)));
        var learnMore = http.GetAsync("/api/learn-more/iv-ketamine-infusion?post=ketamine-therapy");

        var problem = await status;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, problem.StatusCode);
        Assert.Equal("application/problem+json", problem.Content.Headers.ContentType!.MediaType);
        Assert.Equal(503, (int)(await problem.Content.ReadFromJsonAsync<JsonObject>())!["status"]!);
        Assert.Equal(TimeSpan.FromSeconds(10), problem.Headers.RetryAfter?.Delta);

        foreach (var (page, name) in new[] { (respond, "respond"), (withdraw, "withdraw"), (withdrawPost, "withdraw POST"), (triage, "triage"), (review, "review") })
        {
            var answer = await page;
            Assert.True(answer.StatusCode == HttpStatusCode.ServiceUnavailable, $"{name}: {(int)answer.StatusCode}");
            Assert.Equal("text/html", answer.Content.Headers.ContentType!.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(10), answer.Headers.RetryAfter?.Delta);
            Assert.Contains("again in a minute", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Contains("988", await (await withdraw).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var redirect = await learnMore;
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.StartsWith("/api/interest?topic=iv-ketamine-infusion", redirect.Headers.Location!.OriginalString, StringComparison.Ordinal);
        // The click's own budget ended the wait, not the storage client giving up after its retries.
        var uncounted = Assert.Single(host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot(),
            r => r.Message.StartsWith("A learn-more click was not counted", StringComparison.Ordinal));
        Assert.IsAssignableFrom<OperationCanceledException>(uncounted.Exception);
    }
}
