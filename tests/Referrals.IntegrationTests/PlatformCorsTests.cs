using System.Net;

namespace Referrals.IntegrationTests;

/// <summary>
/// Preflights are answered as on Azure: by the platform, from its CORS list (the blog's origins), before any function
/// runs, so also on routes whose function declares no OPTIONS.
/// </summary>
[Collection(PipelineCollection.Name)]
public class PlatformCorsTests(PipelineFixture fixture)
{
    private async Task<HttpResponseMessage> PreflightAsync(string path, string origin, string method)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", "content-type,idempotency-key");
        return await fixture.Http.SendAsync(request);
    }

    [Fact]
    public async Task A_preflight_from_the_blog_is_answered_by_the_platform_with_what_it_asked_for()
    {
        var response = await PreflightAsync("/api/referrals", PipelineFixture.BlogOrigin, "POST");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(PipelineFixture.BlogOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("POST", response.Headers.GetValues("Access-Control-Allow-Methods").Single());
        var allowedHeaders = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers"));
        Assert.Contains("content-type", allowedHeaders, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("idempotency-key", allowedHeaders, StringComparison.OrdinalIgnoreCase);
        // The host's policy allows no credentials, and the function's own preflight answer (its max age) never ran.
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
        Assert.False(response.Headers.Contains("Access-Control-Max-Age"));
    }

    [Fact]
    public async Task A_preflight_is_answered_before_the_function_even_where_the_function_declares_no_options()
    {
        var response = await PreflightAsync("/api/referrals/R-AAAAA-AAAAA", PipelineFixture.BlogOrigin, "GET");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(PipelineFixture.BlogOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task A_preflight_from_another_origin_gets_no_cors_headers()
    {
        var response = await PreflightAsync("/api/referrals", "https://evil.example", "POST");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_get_from_the_blog_carries_the_platforms_allow_origin_and_one_from_elsewhere_does_not()
    {
        var fromBlog = new HttpRequestMessage(HttpMethod.Get, "/api/interest");
        fromBlog.Headers.Add("Origin", PipelineFixture.BlogOrigin);
        var fromElsewhere = new HttpRequestMessage(HttpMethod.Get, "/api/interest");
        fromElsewhere.Headers.Add("Origin", "https://evil.example");

        var blog = await fixture.Http.SendAsync(fromBlog);
        var elsewhere = await fixture.Http.SendAsync(fromElsewhere);

        Assert.Equal(PipelineFixture.BlogOrigin, blog.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False(elsewhere.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
