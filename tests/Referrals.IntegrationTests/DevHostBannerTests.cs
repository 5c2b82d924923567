namespace Referrals.IntegrationTests;

/// <summary>The DevHost's start banner tells an operator where the console is and which key opens it.</summary>
[Collection(PipelineCollection.Name)]
public class DevHostBannerTests(PipelineFixture fixture)
{
    [Fact]
    public void The_banner_lists_every_operator_endpoint_and_the_dashboard_with_the_local_key()
    {
        using var output = new StringWriter();
        fixture.Host.PrintBanner(output);
        var banner = output.ToString();

        var dashboard = new Uri(fixture.Host.BaseAddress, "api/ops");
        Assert.Contains($"Operator dashboard: {dashboard}", banner, StringComparison.Ordinal);
        Assert.Contains($"Operator key:       {TestKeys.Host}", banner, StringComparison.Ordinal);
        // The key is printed to paste, never inside a URL.
        Assert.DoesNotContain($"code={TestKeys.Host}", banner, StringComparison.Ordinal);

        var operatorRoutes = fixture.Host.Functions.Functions
            .Where(f => f.Trigger.Type == "httpTrigger" && f.Trigger.Get("route")!.StartsWith("ops", StringComparison.Ordinal))
            .Select(f => f.Trigger.Get("route")!)
            .ToList();
        Assert.Contains("ops/queues", operatorRoutes);
        var operatorSection = banner[banner.IndexOf("Operator API:", StringComparison.Ordinal)..];
        Assert.All(operatorRoutes, route => Assert.Contains(new Uri(fixture.Host.BaseAddress, $"api/{route}").ToString(), operatorSection, StringComparison.Ordinal));
    }
}
