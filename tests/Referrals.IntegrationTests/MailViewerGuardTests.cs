using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Referrals.DevHost.MailSink;
using SendGrid;
using SendGrid.Helpers.Mail;

namespace Referrals.IntegrationTests;

/// <summary>The local mail viewer holds live signed links: only loopback clients with a loopback Host header see it.</summary>
[Collection(PipelineCollection.Name)]
public class MailViewerGuardTests(PipelineFixture fixture)
{
    private int Port => fixture.Host.BaseAddress.Port;

    /// <summary>A plain client: no forwarded address is added, so what a test sets is all the request carries.</summary>
    private HttpClient Plain() => new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.Host.BaseAddress };

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, string? host = null, params (string Name, string Value)[] headers)
    {
        using var client = Plain();
        var request = new HttpRequestMessage(method, path);
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return (await client.SendAsync(request)).StatusCode;
    }

    private async Task<string> SendToSinkAsync(string? host = null)
    {
        var subject = $"Guard check {Guid.NewGuid():N}";
        var http = new HttpClient(new HostHandler(host) { InnerHandler = new HttpClientHandler() });
        var client = new SendGridClient(http, new SendGridClientOptions { ApiKey = TestKeys.SendGrid, Host = new Uri(fixture.Host.BaseAddress, "sendgrid").ToString() });
        var response = await client.SendEmailAsync(MailHelper.CreateSingleEmail(new EmailAddress("from@clinic.test"), new EmailAddress("to@example.com"), subject, "text", null));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return subject;
    }

    [Theory]
    [InlineData(null)]
    [InlineData("localhost")]
    [InlineData("LocalHost:{port}")]
    [InlineData("127.0.0.1:{port}")]
    [InlineData("[::1]:{port}")]
    [InlineData("localhost:1")]
    public async Task A_loopback_client_with_a_loopback_host_reads_the_viewer(string? host)
    {
        host = host?.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/mail", host));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/mail/messages", host));
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:{port}")]
    [InlineData("127.0.0.1.nip.io:{port}")]
    [InlineData("localhost.evil.example")]
    [InlineData("10.0.0.5:{port}")]
    [InlineData("[::2]:{port}")]
    public async Task A_request_with_a_host_header_that_is_not_loopback_gets_404_and_changes_nothing(string host)
    {
        host = host.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var subject = await SendToSinkAsync();

        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(HttpMethod.Get, "/mail", host));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(HttpMethod.Get, "/mail/messages", host));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(HttpMethod.Get, "/MAIL/Messages", host));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(HttpMethod.Delete, "/mail/messages", host));

        var messages = await fixture.Http.GetFromJsonAsync<JsonArray>("/mail/messages");
        Assert.Contains(messages!, m => m!["subject"]!.ToString() == subject);
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7")]
    [InlineData("X-Forwarded-For", "127.0.0.1, 203.0.113.7")]
    [InlineData("X-Forwarded-For", "2001:db8::1")]
    [InlineData("X-Forwarded-Host", "evil.example")]
    [InlineData("Forwarded", "for=203.0.113.7;host=localhost")]
    public async Task A_request_relayed_for_someone_else_by_a_local_proxy_or_tunnel_gets_404(string header, string value)
    {
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync(HttpMethod.Get, "/mail/messages", null, (header, value)));
    }

    [Fact]
    public async Task Forwarded_values_that_are_themselves_loopback_pass()
    {
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/mail/messages", null, ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Host", "localhost:7071")));
    }

    [Fact]
    public async Task The_sendgrid_compatible_endpoint_is_not_affected()
    {
        var subject = await SendToSinkAsync(host: "referrals.clinic.example");

        var messages = await fixture.Http.GetFromJsonAsync<JsonArray>("/mail/messages");
        Assert.Contains(messages!, m => m!["subject"]!.ToString() == subject);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("192.0.2.10", false)]
    [InlineData("2001:db8::10", false)]
    [InlineData("::ffff:192.0.2.10", false)]
    public void Only_a_loopback_connection_counts_as_local(string address, bool local)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        context.Request.Host = new HostString("localhost", 7071);

        Assert.Equal(local, MailViewerGuard.IsLocal(context));
    }

    [Fact]
    public void A_request_without_a_host_header_is_not_local()
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Loopback;

        Assert.False(MailViewerGuard.IsLocal(context));
    }

    /// <summary>Sets the Host header on every request, as a client reaching the DevHost under another name would.</summary>
    private sealed class HostHandler(string? host) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (host is not null)
            {
                request.Headers.Host = host;
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
