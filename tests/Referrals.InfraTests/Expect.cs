namespace Referrals.InfraTests;

internal static class Expect
{
    /// <summary>Fails naming every offending item, not just the first.</summary>
    public static void None(IEnumerable<string> items, string what)
    {
        var list = items.ToList();
        Assert.True(list.Count == 0, $"{what}:\n{string.Join('\n', list)}");
    }
}
