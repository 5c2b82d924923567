using System.Text;
using Referrals.Core.Security;

namespace Referrals.Core.Tests;

public class SignedLinksTests
{
    private static readonly SignedLinks Links = new(Encoding.UTF8.GetBytes("links-test-key-0123456789-abcdefgh"));
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly LinkClaims Claims = new(LinkAction.Respond, "R-7K3M9-QXD2A", "sp-001", 2, Now.AddDays(7));

    [Fact]
    public void A_link_round_trips_its_claims()
    {
        Assert.Equal(LinkCheck.Valid, Links.Verify(Links.Create(Claims), Now, out var claims));
        Assert.Equal(Claims, claims);
    }

    [Fact]
    public void An_expired_link_is_recognised_as_expired()
    {
        Assert.Equal(LinkCheck.Expired, Links.Verify(Links.Create(Claims), Now.AddDays(7), out _));
    }

    [Fact]
    public void Any_change_to_the_token_invalidates_it()
    {
        var token = Links.Create(Claims);
        var forgedClaims = Links.Create(Claims with { Subject = "sp-002" });
        var spliced = forgedClaims[..forgedClaims.IndexOf('.')] + token[token.IndexOf('.')..];

        Assert.Equal(LinkCheck.Invalid, Links.Verify(spliced, Now, out _));
        Assert.Equal(LinkCheck.Invalid, Links.Verify(token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1], Now, out _));
        Assert.Equal(LinkCheck.Invalid, Links.Verify("garbage", Now, out _));
        Assert.Equal(LinkCheck.Invalid, Links.Verify(null, Now, out _));
        Assert.Equal(LinkCheck.Invalid, new SignedLinks(Encoding.UTF8.GetBytes("another-key-0123456789-abcdefghijk")).Verify(token, Now, out _));
    }

    [Fact]
    public void The_token_carries_no_health_details()
    {
        var encoded = Links.Create(Claims).Split('.')[0].Replace('-', '+').Replace('_', '/');
        var payload = Encoding.UTF8.GetString(Convert.FromBase64String(encoded.PadRight(encoded.Length + ((4 - (encoded.Length % 4)) % 4), '=')));

        Assert.Equal($"Respond|R-7K3M9-QXD2A|sp-001|2|{Claims.ExpiresAt.ToUnixTimeSeconds()}", payload);
    }
}
