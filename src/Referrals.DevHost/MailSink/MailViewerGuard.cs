using System.Net;
using Microsoft.Extensions.Primitives;

namespace Referrals.DevHost.MailSink;

/// <summary>
/// The mail viewer shows live signed links (respond, triage, withdraw), so it answers only a browser or tool on this
/// machine: the connection must come from loopback, the Host header must name loopback (which defeats DNS rebinding,
/// where a web page's own host name resolves to 127.0.0.1), and anything a local proxy or tunnel says it forwarded
/// must be loopback too. Everyone else gets 404, as for any path that does not exist: nothing tells a prober that
/// a viewer is there. The SendGrid-compatible POST is not the viewer and is not affected.
/// </summary>
public static class MailViewerGuard
{
    /// <summary>Runs before the forwarded-headers middleware, so it sees the connection and headers as they arrived.</summary>
    public static void Use(IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(MailSinkEndpoints.ViewerPath, StringComparison.OrdinalIgnoreCase) && !IsLocal(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await next(context);
    });

    public static bool IsLocal(HttpContext context)
    {
        var headers = context.Request.Headers;
        return context.Connection.RemoteIpAddress is { } remote && IsLoopback(remote)
            && IsLoopbackHost(context.Request.Host)
            && All(headers["X-Forwarded-For"], v => IPEndPoint.TryParse(v, out var endpoint) && IsLoopback(endpoint.Address))
            && All(headers["X-Forwarded-Host"], v => IsLoopbackHost(new HostString(v)))
            && StringValues.IsNullOrEmpty(headers["Forwarded"]); // RFC 7239: only a proxy sends it
    }

    /// <summary>localhost, 127.0.0.1 or [::1], on any port.</summary>
    public static bool IsLoopbackHost(HostString host) =>
        host.HasValue && host.Host.ToLowerInvariant() is "localhost" or "127.0.0.1" or "[::1]";

    private static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    /// <summary>Every comma-separated value of every instance of the header (none at all passes).</summary>
    private static bool All(StringValues values, Func<string, bool> test) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries)).All(test);
}
