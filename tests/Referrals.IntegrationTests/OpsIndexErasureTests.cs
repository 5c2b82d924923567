using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.Functions.Operations;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The index holds the treatment (health data): erasure and retention blank it, and the list then shows none.</summary>
[Collection(OpsIndexCollection.Name)]
public class OpsIndexErasureTests(LifecycleFixture fixture)
{
    private static readonly DateTimeOffset Day = new(2034, 7, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Withdrawal_and_retention_blank_the_index_row_but_keep_its_status_and_marks()
    {
        await using var seed = new OpsIndexSeed(fixture, Day.AddHours(2));
        var withdrawn = await seed.ReceiveAsync(Day, "esketamine-nasal-spray", topic: "esketamine-nasal-spray", post: "post-w", urgent: true);
        var retained = await seed.ReceiveAsync(Day.AddMinutes(5), "iv-ketamine-infusion", topic: "iv-ketamine-infusion", post: "post-r");
        await seed.MoveAsync(retained.Row, c => c.SendToTriage(Day.AddMinutes(6), "No specialist."));

        var before = await seed.IndexRowAsync(withdrawn.Id, withdrawn.Row.ReceivedAt);
        Assert.Equal("esketamine-nasal-spray", before.GetString("Treatment"));
        Assert.True(before.GetBoolean("Urgent"));

        var erasure = seed.Services.GetRequiredService<ReferralErasure>();
        Assert.True(await erasure.EraseAsync(withdrawn.Id, Actor.Operator, "Asked by phone", CancellationToken.None));
        Assert.True(await erasure.EraseForRetentionAsync(retained.Id, CancellationToken.None));

        var afterWithdrawal = await seed.IndexRowAsync(withdrawn.Id, withdrawn.Row.ReceivedAt);
        Assert.Equal(nameof(ReferralStatus.Withdrawn), afterWithdrawal.GetString("Status"));
        Assert.True(afterWithdrawal.GetBoolean("Erased"));
        Assert.Equal("", afterWithdrawal.GetString("Treatment"));
        Assert.Equal("", afterWithdrawal.GetString("Topic"));
        Assert.Equal("", afterWithdrawal.GetString("SourcePost"));
        Assert.False(afterWithdrawal.GetBoolean("Urgent"));

        var afterRetention = await seed.IndexRowAsync(retained.Id, retained.Row.ReceivedAt);
        Assert.Equal(nameof(ReferralStatus.NeedsTriage), afterRetention.GetString("Status"));
        Assert.Equal("", afterRetention.GetString("Treatment"));
        Assert.Equal(Day.AddMinutes(6), afterRetention.GetDateTimeOffset("NeedsTriageAt"));
        Assert.DoesNotContain(afterRetention.Keys, k => k.StartsWith(IndexedReferral.MailPrefix, StringComparison.Ordinal));

        // A move that committed before the erasure but whose index write landed after it: readers still show nothing.
        var late = await seed.IndexRowAsync(retained.Id, retained.Row.ReceivedAt);
        late["Treatment"] = "iv-ketamine-infusion";
        await seed.Index.UpdateEntityAsync(late, late.ETag, Azure.Data.Tables.TableUpdateMode.Merge);

        var list = seed.Function<ListReferrals>();
        var (status, body) = await seed.CallAsync(r => list.Run(r, CancellationToken.None), "?from=2034-07-01&to=2034-07-01");
        Assert.Equal(200, status);
        var items = body!["items"]!.AsArray();
        Assert.Equal([retained.Id, withdrawn.Id], items.Select(i => i!["id"]!.ToString()));
        Assert.All(items, i =>
        {
            Assert.Null(i!["treatment"]);
            Assert.Null(i["topic"]);
            Assert.Null(i["sourcePost"]);
            Assert.False(i["urgent"]!.GetValue<bool>());
            Assert.True(i["erased"]!.GetValue<bool>());
        });
        Assert.Empty((await seed.CallAsync(r => list.Run(r, CancellationToken.None), "?from=2034-07-01&to=2034-07-01&treatment=iv-ketamine-infusion")).Body!["items"]!.AsArray());
    }
}
