using System.Net;
using System.Text.Json.Nodes;

namespace Referrals.IntegrationTests;

/// <summary>The OpenAPI document describes exactly the HTTP routes the build's functions.metadata declares.</summary>
[Collection(PipelineCollection.Name)]
public class OpenApiTests(PipelineFixture fixture)
{
    private async Task<JsonObject> DocumentAsync()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Http.BaseAddress };
        var response = await anonymous.GetAsync("/api/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private IEnumerable<(string Path, string Method, string AuthLevel)> Declared() =>
        fixture.Host.Functions.Functions
            .Where(f => f.Trigger.Type == "httpTrigger")
            .SelectMany(f => f.Trigger.Raw["methods"]!.AsArray().Select(m =>
                ("/api/" + f.Trigger.Get("route"), m!.ToString().ToLowerInvariant(), f.Trigger.Get("authLevel")!.ToLowerInvariant())));

    [Fact]
    public async Task Every_route_and_method_in_functions_metadata_is_described_with_its_key_and_nothing_else_is()
    {
        var document = await DocumentAsync();
        Assert.StartsWith("3.1.", document["openapi"]!.ToString(), StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject();
        var declared = Declared().ToList();

        foreach (var (path, method, authLevel) in declared)
        {
            var operation = paths[path]?[method]?.AsObject();
            Assert.True(operation is not null, $"{method.ToUpperInvariant()} {path} is served but not described");
            Assert.False(string.IsNullOrWhiteSpace(operation!["summary"]?.ToString()), $"{method} {path} has no summary");
            Assert.NotEmpty(operation["responses"]!.AsObject());
            // A route that needs a key says so, and an anonymous one does not ask for one.
            Assert.Equal(authLevel != "anonymous", operation["security"] is JsonArray { Count: > 0 });
        }

        var described = paths.SelectMany(p => p.Value!.AsObject().Select(m => (p.Key, m.Key))).ToList();
        Assert.Equal(declared.Select(d => (d.Path, d.Method)).Order(), described.Order());
    }

    [Fact]
    public async Task Every_reference_in_the_document_resolves()
    {
        var document = await DocumentAsync();
        var text = document.ToJsonString();
        foreach (System.Text.RegularExpressions.Match reference in System.Text.RegularExpressions.Regex.Matches(text, "\"\\$ref\":\"#/components/schemas/([^\"]+)\""))
        {
            Assert.NotNull(document["components"]!["schemas"]![reference.Groups[1].Value]);
        }

        foreach (var scheme in document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()).SelectMany(m => m.Value!["security"]?.AsArray() ?? []).SelectMany(s => s!.AsObject()))
        {
            Assert.NotNull(document["components"]!["securitySchemes"]![scheme.Key]);
        }
    }
}
