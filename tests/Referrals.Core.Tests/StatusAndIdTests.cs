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
    [InlineData(ReferralStatus.Received, ReferralStatus.Duplicate)]
    public void Forward_moves_are_allowed(ReferralStatus from, ReferralStatus to)
    {
        Assert.True(StatusTransitions.CanMove(from, to));
    }

    [Theory]
    [InlineData(ReferralStatus.Received, ReferralStatus.Notified)]
    [InlineData(ReferralStatus.Withdrawn, ReferralStatus.Accepted)]
    [InlineData(ReferralStatus.Accepted, ReferralStatus.Routed)]
    [InlineData(ReferralStatus.NeedsTriage, ReferralStatus.Accepted)]
    [InlineData(ReferralStatus.Duplicate, ReferralStatus.Routed)]
    [InlineData(ReferralStatus.Routed, ReferralStatus.Duplicate)]
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

public class PublicStatusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(ReferralStatus.Received, "received")]
    [InlineData(ReferralStatus.Routed, "received")]
    [InlineData(ReferralStatus.Notified, "received")]
    [InlineData(ReferralStatus.NeedsTriage, "received")]
    [InlineData(ReferralStatus.Failed, "received")]
    [InlineData(ReferralStatus.Duplicate, "received")]
    [InlineData(ReferralStatus.Accepted, "accepted")]
    [InlineData(ReferralStatus.Withdrawn, "withdrawn")]
    public void Inner_steps_and_a_duplicate_all_read_received(ReferralStatus status, string word)
    {
        Assert.Equal(word, PublicStatus.Of(status));
    }

    [Fact]
    public void A_failure_keeps_the_word_it_failed_in()
    {
        Assert.Equal("accepted", PublicStatus.Of(ReferralStatus.Failed, ReferralStatus.Accepted));
    }

    [Fact]
    public void The_change_date_is_when_the_word_last_changed()
    {
        StatusChange At(ReferralStatus status, int minutes) => new(status, T0.AddMinutes(minutes), Actor.System, "");
        var history = new[]
        {
            At(ReferralStatus.Received, 0), At(ReferralStatus.Routed, 1), At(ReferralStatus.Notified, 2), At(ReferralStatus.Accepted, 30),
            At(ReferralStatus.Failed, 40), At(ReferralStatus.Accepted, 50),
        };

        Assert.Equal(T0.AddMinutes(30), PublicStatus.ChangedAt(history, T0));
        Assert.Equal(T0, PublicStatus.ChangedAt(history[..3], T0.AddDays(1)));
        Assert.Equal(T0.AddDays(1), PublicStatus.ChangedAt([], T0.AddDays(1)));
    }
}
