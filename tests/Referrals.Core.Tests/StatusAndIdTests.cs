using Referrals.Core.Referrals;

namespace Referrals.Core.Tests;

public class StatusAndIdTests
{
    [Theory]
    [InlineData(ReferralStatus.Received, ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Received, ReferralStatus.NeedsTriage)]
    [InlineData(ReferralStatus.Routed, ReferralStatus.Notified)]
    [InlineData(ReferralStatus.Notified, ReferralStatus.Accepted)]
    [InlineData(ReferralStatus.Notified, ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Notified, ReferralStatus.NeedsTriage)]
    [InlineData(ReferralStatus.NeedsTriage, ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Accepted, ReferralStatus.Withdrawn)]
    public void Forward_moves_are_allowed(ReferralStatus from, ReferralStatus to)
    {
        Assert.True(StatusTransitions.CanMove(from, to));
    }

    [Theory]
    [InlineData(ReferralStatus.Received, ReferralStatus.Notified)]
    [InlineData(ReferralStatus.Withdrawn, ReferralStatus.Accepted)]
    [InlineData(ReferralStatus.Accepted, ReferralStatus.Routed)]
    [InlineData(ReferralStatus.NeedsTriage, ReferralStatus.Accepted)]
    public void Moves_that_make_no_sense_are_refused(ReferralStatus from, ReferralStatus to)
    {
        var error = Assert.Throws<InvalidStatusTransitionException>(() => StatusTransitions.EnsureCanMove(from, to));
        Assert.Equal(from, error.From);
        Assert.Equal(to, error.To);
    }

    [Fact]
    public void New_ids_are_well_formed_and_distinct()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => ReferralId.New()).ToList();

        Assert.All(ids, id => Assert.True(ReferralId.IsWellFormed(id), id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("R-ABCDE-FGHIJ")] // I is not in the alphabet
    [InlineData("R-ABCDE_FGH12")]
    [InlineData("X-ABCDE-FGH12")]
    [InlineData("R-ABCDE-FGH123")]
    public void Malformed_ids_are_recognised(string? id)
    {
        Assert.False(ReferralId.IsWellFormed(id));
    }
}
