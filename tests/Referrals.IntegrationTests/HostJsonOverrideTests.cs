using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Referrals.DevHost.Functions;

namespace Referrals.IntegrationTests;

/// <summary>
/// host.json carries production queue values; local runs get their fast ones through the Functions host's own
/// override keys (AzureFunctionsJobHost__extensions__queues__…), which the DevHost applies over host.json.
/// </summary>
public class HostJsonOverrideTests
{
    private static string BuiltHostJson => Path.Combine(FunctionsApp.BuiltDirectory!, "host.json");

    [Fact]
    public void The_shipped_host_json_holds_the_production_queue_values()
    {
        var hostJson = JsonNode.Parse(File.ReadAllText(BuiltHostJson))!.AsObject();

        var queues = FunctionsApp.ReadHostSettings(hostJson, processorCount: 2).Queues;

        Assert.Equal(TimeSpan.FromMinutes(5), queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), queues.MaxPollingInterval);
        Assert.Equal(5, queues.MaxDequeueCount);
        Assert.Equal(16, queues.BatchSize);
        Assert.True(queues.Base64Encoding);
    }

    [Fact]
    public void An_AzureFunctionsJobHost_setting_replaces_that_one_host_json_value_whatever_its_casing()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // What AzureFunctionsJobHost__extensions__queues__visibilityTimeout becomes as configuration.
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:07",
            ["AzureFunctionsJobHost:Extensions:Queues:MaxPollingInterval"] = "00:00:03",
            ["AzureFunctionsJobHost:extensions:http:routePrefix"] = "v1",
            ["Unrelated:extensions:queues:batchSize"] = "1",
        }).Build();

        var app = FunctionsApp.Load(FunctionsApp.BuiltDirectory!, processorCount: 2, configuration);

        Assert.Equal(TimeSpan.FromSeconds(7), app.Host.Queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3), app.Host.Queues.MaxPollingInterval);
        Assert.Equal("v1", app.Host.RoutePrefix);
        // What is not overridden stays as host.json says.
        Assert.Equal(16, app.Host.Queues.BatchSize);
        Assert.Equal(5, app.Host.Queues.MaxDequeueCount);
    }

    [Fact]
    public void Without_overrides_the_DevHost_reads_host_json_as_it_is()
    {
        var app = FunctionsApp.Load(FunctionsApp.BuiltDirectory!, processorCount: 2, new ConfigurationBuilder().Build());

        Assert.Equal(TimeSpan.FromMinutes(5), app.Host.Queues.VisibilityTimeout);
    }

    [Fact]
    public void The_DevHost_settings_give_local_runs_their_fast_values_through_the_override_keys()
    {
        var appsettings = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoRoot, "src", "Referrals.DevHost", "appsettings.json")))!;
        var queues = appsettings["AzureFunctionsJobHost"]!["extensions"]!["queues"]!;
        Assert.Equal("00:00:05", (string?)queues["visibilityTimeout"]);
        Assert.Equal("00:00:02", (string?)queues["maxPollingInterval"]);

        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoRoot, "src", "Referrals.Functions", "local.settings.json.example")))!["Values"]!;
        Assert.Equal("00:00:05", (string?)example["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"]);
        Assert.Equal("00:00:02", (string?)example["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"]);
    }

    private static string RepoRoot
    {
        get
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Referrals.sln")))
            {
                folder = folder.Parent;
            }

            return folder?.FullName ?? throw new InvalidOperationException("Referrals.sln not found above the test's folder.");
        }
    }
}

/// <summary>The suite's DevHost runs with the fast values, given as override settings over the production host.json.</summary>
[Collection(PipelineCollection.Name)]
public class HostJsonOverrideFixtureTests(PipelineFixture fixture)
{
    [Fact]
    public void The_test_DevHost_applies_the_fast_override_values()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), fixture.Host.Functions.Host.Queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), fixture.Host.Functions.Host.Queues.MaxPollingInterval);
    }
}
