using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Referrals.Functions.Web;

/// <summary>
/// The client a rate limit counts against. The platform already puts the address that connected to the app in
/// Connection.RemoteIpAddress: the Functions host forwards it to the worker, whose forwarded-headers middleware believes
/// only that loopback hop. A header naming an earlier client (Intake:ClientAddressHeader) is believed only when that
/// address is one of Intake:TrustedProxies (a gateway or front door of our own), and then the right-most entry that
/// is not itself a trusted proxy is the client: entries further left were written by the client and prove nothing.
/// </summary>
public static class ClientAddress
{
    /// <summary>The rate-limit key for the request: an IPv4 address, or an IPv6 client's /64 (one subscriber's block).</summary>
    public static string RateKey(HttpContext context, WebOptions options)
    {
        var trusted = options.TrustedProxies.Select(p => TryParseNetwork(p, out var network) ? network : throw new FormatException($"Intake:TrustedProxies holds '{p}', which is no IP address or CIDR range.")).ToList();
        var client = Resolve(context.Connection.RemoteIpAddress, context.Request.Headers[options.ClientAddressHeader], trusted);
        return client is null ? "unknown" : RateKey(client);
    }

    public static IPAddress? Resolve(IPAddress? peer, StringValues forwarded, IReadOnlyList<IPNetwork> trusted)
    {
        var client = Normalize(peer);
        if (client is null || !IsTrusted(client, trusted))
        {
            return client;
        }

        var entries = forwarded.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Reverse();
        foreach (var entry in entries)
        {
            if (!TryParseAddress(entry, out var address))
            {
                // A trusted proxy appends a well-formed address; anything else was written further left, by a client.
                return client;
            }

            client = address;
            if (!IsTrusted(client, trusted))
            {
                return client;
            }
        }

        return client;
    }

    public static string RateKey(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        // One subscriber is usually given a whole /64 and can use any address in it.
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return $"{new IPAddress(bytes)}/64";
    }

    /// <summary>An address alone (a /32 or /128) or a CIDR range, as Intake:TrustedProxies lists them.</summary>
    public static bool TryParseNetwork(string value, out IPNetwork network)
    {
        if (IPAddress.TryParse(value, out var address) && !value.Contains('/', StringComparison.Ordinal))
        {
            address = Normalize(address)!;
            network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return IPNetwork.TryParse(value, out network);
    }

    private static bool IsTrusted(IPAddress address, IReadOnlyList<IPNetwork> trusted) => trusted.Any(n => n.Contains(address));

    /// <summary>Accepts an address with or without a port ("203.0.113.7:52144", "[2001:db8::1]:443"), as proxies write them.</summary>
    private static bool TryParseAddress(string entry, out IPAddress address)
    {
        var parsed = IPAddress.TryParse(entry, out var bare) ? bare
            : IPEndPoint.TryParse(entry, out var endPoint) ? endPoint.Address
            : null;
        address = Normalize(parsed) ?? IPAddress.None;
        return parsed is not null;
    }

    /// <summary>An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; a link-local one carries a scope.</summary>
    private static IPAddress? Normalize(IPAddress? address) =>
        address is null ? null
        : address.IsIPv4MappedToIPv6 ? address.MapToIPv4()
        : address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes())
        : address;
}
