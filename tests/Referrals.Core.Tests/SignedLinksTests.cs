using System.Text;
using Referrals.Core.Security;

namespace Referrals.Core.Tests;

public class SignedLinksTests
{
    private const string Secret = "links-test-key-0123456789-abcdefgh";
    private static readonly SignedLinks Links = new(new KeyRing("k1", new Dictionary<string, string> { ["k1"] = Secret }));
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
        var forged = Links.Create(Claims with { Subject = "sp-002" }).Split('.');
        var parts = token.Split('.');
        var spliced = string.Join('.', parts[0], forged[1], parts[2]);

        Assert.Equal(LinkCheck.Invalid, Links.Verify(spliced, Now, out _));
        Assert.Equal(LinkCheck.Invalid, Links.Verify(token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1], Now, out _));
        Assert.Equal(LinkCheck.Invalid, Links.Verify("garbage", Now, out _));
        Assert.Equal(LinkCheck.Invalid, Links.Verify(null, Now, out _));
        Assert.Equal(LinkCheck.Invalid, Links.Verify(string.Join('.', parts[1], parts[2]), Now, out _));
        Assert.Equal(LinkCheck.Invalid, new SignedLinks(new KeyRing("k1", new Dictionary<string, string> { ["k1"] = "another-key-0123456789-abcdefghijk" })).Verify(token, Now, out _));
    }

    [Fact]
    public void After_a_rotation_links_signed_with_the_previous_key_keep_working_until_that_key_is_removed()
    {
        var oldToken = Links.Create(Claims);
        var rotated = new SignedLinks(new KeyRing("k2", new Dictionary<string, string> { ["k2"] = "the-new-key-0123456789-abcdefghijkl", ["k1"] = Secret }));
        var newToken = rotated.Create(Claims);

        Assert.StartsWith("k2.", newToken);
        Assert.Equal(LinkCheck.Valid, rotated.Verify(oldToken, Now, out _));
        Assert.Equal(LinkCheck.Valid, rotated.Verify(newToken, Now, out _));

        var retired = new SignedLinks(new KeyRing("k2", new Dictionary<string, string> { ["k2"] = "the-new-key-0123456789-abcdefghijkl" }));
        Assert.Equal(LinkCheck.Invalid, retired.Verify(oldToken, Now, out _));
        Assert.Equal(LinkCheck.Valid, retired.Verify(newToken, Now, out _));
    }

    [Fact]
    public void The_token_carries_no_health_details()
    {
        var encoded = Links.Create(Claims).Split('.')[1].Replace('-', '+').Replace('_', '/');
        var payload = Encoding.UTF8.GetString(Convert.FromBase64String(encoded.PadRight(encoded.Length + ((4 - (encoded.Length % 4)) % 4), '=')));

        Assert.Equal($"Respond|R-7K3M9-QXD2A|sp-001|2|{Claims.ExpiresAt.ToUnixTimeSeconds()}", payload);
    }
}
