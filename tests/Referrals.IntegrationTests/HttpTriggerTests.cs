using System.Net;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using Referrals.DevHost.Functions;
using Referrals.DevHost.Queues;
using Referrals.DevHost.Timers;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>HTTP triggers as the DevHost maps them from functions.metadata: route prefix, methods, auth levels and keys.</summary>
[Collection(PipelineCollection.Name)]
public class HttpTriggerTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? headerKey = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (headerKey is not null)
        {
            request.Headers.Add("x-functions-key", headerKey);
        }

        return http.SendAsync(request);
    }

    [Fact]
    public async Task An_anonymous_function_needs_no_key()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "/api/referrals/R-00000-00000")).StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    [InlineData("")]
    public async Task A_function_level_function_refuses_a_missing_or_wrong_key(string? key)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/ops/queues", key)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, $"/api/ops/queues?code={key}")).StatusCode);
    }

    [Theory]
    [InlineData(TestKeys.Host)]
    [InlineData(TestKeys.QueueHealthFunction)]
    [InlineData(TestKeys.Master)]
    public async Task A_function_level_function_accepts_a_host_key_its_own_key_or_the_master_key(string key)
    {
        var byHeader = await SendAsync(HttpMethod.Get, "/api/ops/queues", key);
        var byQuery = await SendAsync(HttpMethod.Get, $"/api/ops/queues?code={Uri.EscapeDataString(key)}");

        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);
        var report = await byHeader.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Contains(report!["queues"]!.AsArray(), q => q!["queue"]!.ToString() == "referral-intake");
    }

    [Fact]
    public async Task A_function_key_does_not_open_another_function()
    {
        // SyncSpecialists is admin level; GetQueueHealth's own key must not open it, nor may a host key.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, "/api/ops/specialists/sync", TestKeys.QueueHealthFunction)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, "/api/ops/specialists/sync", TestKeys.Host)).StatusCode);
    }

    [Fact]
    public async Task An_admin_level_function_accepts_only_the_master_key()
    {
        var response = await SendAsync(HttpMethod.Post, "/api/ops/specialists/sync", TestKeys.Master);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(14, (await response.Content.ReadFromJsonAsync<JsonObject>())!["imported"]!.GetValue<int>());
    }

    [Fact]
    public async Task Routes_live_under_the_host_json_route_prefix_only()
    {
        Assert.Equal("api", fixture.Host.Functions.Host.RoutePrefix);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "/referrals/R-00000-00000")).StatusCode);
    }
}

/// <summary>Nothing about triggers is declared twice: every function in the build's functions.metadata is served.</summary>
[Collection(PipelineCollection.Name)]
public class DiscoveryTests(PipelineFixture fixture)
{
    [Fact]
    public void Every_function_in_the_functions_assembly_is_in_functions_metadata()
    {
        var declared = typeof(Referrals.Functions.ReferralPipeline).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Select(m => m.GetCustomAttribute<FunctionAttribute>()?.Name)
            .OfType<string>()
            .Order();

        Assert.Equal(declared, fixture.Host.Functions.Functions.Select(f => f.Name).Order());
    }

    [Fact]
    public async Task Every_http_trigger_in_functions_metadata_is_served_on_its_route_and_methods()
    {
        var http = fixture.Host.Functions.Functions.Where(f => f.Trigger.Type == "httpTrigger").ToList();
        Assert.NotEmpty(http);
        foreach (var function in http)
        {
            var route = "/api/" + System.Text.RegularExpressions.Regex.Replace(function.Trigger.Get("route")!, "{[^}]+}", "R-00000-00000");
            foreach (var method in function.Trigger.Raw["methods"]!.AsArray().Select(m => m!.ToString().ToUpperInvariant()))
            {
                var request = new HttpRequestMessage(new HttpMethod(method), route);
                request.Headers.Add("x-functions-key", TestKeys.Master);
                if (method == "POST")
                {
                    request.Content = JsonContent.Create(new { });
                }

                var response = await fixture.Http.SendAsync(request);

                // A served function answers with its own result; an unserved route would be a bare 404 or 405.
                Assert.NotEqual(HttpStatusCode.MethodNotAllowed, response.StatusCode);
                Assert.True(response.StatusCode != HttpStatusCode.NotFound || response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                    $"{function.Name} is not served at {method} {route}");
            }
        }
    }

    [Fact]
    public void Every_queue_trigger_in_functions_metadata_has_a_listener_on_its_queue()
    {
        var expected = fixture.Host.Functions.Functions.Where(f => f.Trigger.Type == "queueTrigger").Select(f => f.Trigger.Get("queueName")).Order().ToList();
        var listening = fixture.Host.Services.GetRequiredService<QueueTriggerService>().Listeners.Select(l => l.QueueName).Order();

        Assert.Equal(StorageNames.Queues.SelectMany(q => new[] { q, q + "-poison" }).Order(), expected);
        Assert.Equal(expected, listening);
    }

    [Fact]
    public void Every_trigger_in_functions_metadata_is_one_the_devhost_serves()
    {
        var served = new[] { "httpTrigger", "queueTrigger", "timerTrigger" };

        Assert.All(fixture.Host.Functions.Functions, f => Assert.Contains(f.Trigger.Type, served));
        Assert.Contains(fixture.Host.Functions.Functions, f => f.Trigger.Type == "timerTrigger" && f.Name == "SyncSpecialistDirectory");
    }
}

/// <summary>The Functions build output stays a valid Functions app, so `func start` works wherever Core Tools exists.</summary>
[Collection(PipelineCollection.Name)]
public class FunctionsBuildOutputTests(PipelineFixture fixture)
{
    [Theory]
    [InlineData("functions.metadata")]
    [InlineData("worker.config.json")]
    [InlineData("extensions.json")]
    [InlineData("host.json")]
    [InlineData("Referrals.Functions.dll")]
    [InlineData("data/specialists.csv")]
    public void The_build_output_has(string file)
    {
        Assert.True(File.Exists(Path.Combine(fixture.Host.Functions.Directory, file)), $"{file} is missing from {fixture.Host.Functions.Directory}");
    }
}
