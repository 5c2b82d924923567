using Referrals.Core.Security;

namespace Referrals.Core.Tests;

public class KeyRingTests
{
    private static readonly Dictionary<string, string> Secrets = new() { ["k1"] = "key-ring-test-secret-0123456789-abcdef" };

    [Fact]
    public void Each_purpose_gets_its_own_key()
    {
        var ring = new KeyRing("k1", Secrets);
        var keys = new[] { KeyPurpose.FormStamp, KeyPurpose.SignedLinks, KeyPurpose.KeyedHash, KeyPurpose.ThanksCookie }.Select(p => Convert.ToHexString(ring.Active(p)));

        Assert.Equal(4, keys.Distinct().Count());
        Assert.Equal(ring.Active(KeyPurpose.SignedLinks), ring.Find("k1", KeyPurpose.SignedLinks));
        Assert.Null(ring.Find("k0", KeyPurpose.SignedLinks));
    }

    [Theory]
    [InlineData("k2", "key-ring-test-secret-0123456789-abcdef")] // the active key is not in the ring
    [InlineData("k1", "too-short")]
    public void A_bad_ring_is_refused(string active, string secret)
    {
        Assert.Throws<ArgumentException>(() => new KeyRing(active, new Dictionary<string, string> { ["k1"] = secret }));
    }

    [Fact]
    public void Key_ids_stay_token_safe()
    {
        Assert.Throws<ArgumentException>(() => new KeyRing("a.b", new Dictionary<string, string> { ["a.b"] = Secrets["k1"] }));
    }
}
