using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Referrals.Functions.Operations;

/// <summary>
/// The OpenAPI 3.1 description of every HTTP route, written by hand beside the functions and checked by a test
/// against the build's functions.metadata, so a route cannot exist without its description.
/// </summary>
public sealed class GetOpenApi
{
    private static readonly Lazy<string> Document = new(() =>
    {
        using var stream = typeof(GetOpenApi).Assembly.GetManifestResourceStream("openapi.json")
            ?? throw new InvalidOperationException("The OpenAPI document is not embedded in the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    [Function(nameof(GetOpenApi))]
    public IResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request) =>
        TypedResults.Text(Document.Value, "application/json");
}
