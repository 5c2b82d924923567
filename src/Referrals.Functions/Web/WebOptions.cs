using System.ComponentModel.DataAnnotations;

namespace Referrals.Functions.Web;

/// <summary>
/// Who may call the public endpoints from a browser, and who the client behind a request is. These keys have always
/// lived in the "Intake" section; they are bound from there unchanged, so existing settings keep working.
/// </summary>
public sealed class WebOptions
{
    public const string Section = "Intake";

    /// <summary>Origins (the blog's) allowed to post from the browser; nothing else gets CORS headers.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Proxies of our own in front of the app (IP addresses or CIDR ranges): only when one of them connects is
    /// <see cref="ClientAddressHeader"/> believed. None by default: the platform already gives the connecting address.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>The header a trusted proxy names the client in; X-Forwarded-For unless the proxy uses its own.</summary>
    [Required] public string ClientAddressHeader { get; set; } = "X-Forwarded-For";
}
