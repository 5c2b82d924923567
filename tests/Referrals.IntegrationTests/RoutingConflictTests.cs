using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Functions;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// An urgent referral's emails are queued before it is routed, and they record themselves on the referral's row: the
/// routing that loses that race decides again on a fresh read instead of waiting out a queue visibility timeout.
/// </summary>
[Collection(PipelineCollection.Name)]
public class RoutingConflictTests(PipelineFixture fixture)
{
    private const string SpecialistId = "vt-race";

    private IServiceProvider Services => fixture.Host.Services;

    private string Connection => fixture.Azurite.ConnectionString;

    [Fact]
    public async Task Routing_that_loses_its_save_to_the_referrals_own_emails_decides_again_and_notifies_once()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);

        // A directory of its own (one Vermont specialist), so the open-offer count is this test's alone.
        var specialists = new TableClient(Connection, $"RaceSpecialists{Guid.NewGuid():N}"[..30]);
        var loads = new TableClient(Connection, $"RaceLoads{Guid.NewGuid():N}"[..30]);
        await Task.WhenAll(specialists.CreateAsync(), loads.CreateAsync());
        var directory = new SpecialistDirectory(specialists, loads, Options.Create(new DirectoryOptions { SpecialistsFile = Path.Combine(Path.GetTempPath(), "none.csv") }), clock);
        await directory.ImportAsync($"""
            id,name,practice,email,states,treatments,rems_certified,telehealth,in_person,accepting_new_patients,weekly_capacity,languages,insurance_networks,out_of_office,time_zone
            {SpecialistId},Dr. Rae Spence,Race Clinic,rae.spence@example.org,VT,iv-ketamine-infusion,false,true,true,true,4,en,,,America/New_York
            """, CancellationToken.None);

        // Capture queues for the emails, so the host's notification function does not consume what routing sends.
        QueueClient Capture() => new(Connection, $"capture-{Guid.NewGuid():N}", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var (ordinaryNotifications, urgentNotifications) = (Capture(), Capture());
        await Task.WhenAll(ordinaryNotifications.CreateAsync(), urgentNotifications.CreateAsync());
        var real = Services.GetRequiredService<PipelineQueues>();
        var queues = new PipelineQueues(real.Intake(urgent: false), real.Intake(urgent: true), ordinaryNotifications, urgentNotifications);

        // Stored but never queued, so only this test routes it.
        var plain = new TableClient(Connection, StorageNames.ReferralsTable);
        var id = ReferralId.New();
        await plain.AddNewAsync(
            ReferralEntity.From(id, new ValidReferral("Rory Race", $"race-{Guid.NewGuid():N}@example.com", "VT", "iv-ketamine-infusion", Urgent: true), clock.GetUtcNow()),
            new StatusChange(ReferralStatus.Received, clock.GetUtcNow(), Actor.Visitor, "test"), CancellationToken.None);

        // The router's table: its first transaction (the routing save) finds the row changed just before, as when the
        // emails' ledger merge (which changes nothing but the ETag) wins.
        var race = new EmailsWinFirstBatch(plain, id);
        var options = new TableClientOptions();
        options.AddPolicy(race, HttpPipelinePosition.PerCall);
        var referrals = new TableClient(Connection, StorageNames.ReferralsTable, options);
        var router = ActivatorUtilities.CreateInstance<ReferralRouter>(Services, referrals, queues, directory, clock);

        await new RouteReferral(referrals, queues, router).RunUrgent(new ReferralMessage(id), CancellationToken.None);

        Assert.Equal(1, race.Fired);
        var routed = (await plain.FindReferralAsync(id, CancellationToken.None))!;
        Assert.Equal(nameof(ReferralStatus.Routed), routed.Status);
        Assert.Equal(SpecialistId, routed.AssignedSpecialistId);
        Assert.Equal(1, routed.Assignment);

        // One message as the referral arrived (the operators' alert goes out at once) and one from the move: the
        // arrival's is not queued again for the second decision.
        var messages = (await urgentNotifications.PeekMessagesAsync(32)).Value
            .Select(m => m.Body.ToObjectFromJson<ReferralMessage>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!.ReferralId)
            .ToList();
        Assert.Equal([id, id], messages);
        Assert.Empty((await ordinaryNotifications.PeekMessagesAsync(32)).Value);

        // The failed save's counted offer was given back: only the offer that stands is open.
        var open = await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, SpecialistId);
        Assert.Equal(1, open.Value.Count);

        await Task.WhenAll(ordinaryNotifications.DeleteAsync(), urgentNotifications.DeleteAsync(), specialists.DeleteAsync(), loads.DeleteAsync());
    }

    /// <summary>Just before the first $batch request, changes the referral's row through another client.</summary>
    private sealed class EmailsWinFirstBatch(TableClient other, string referralId) : HttpPipelinePolicy
    {
        private int fired;

        public int Fired => fired;

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (IsFirstBatch(message))
            {
                await other.UpsertEntityAsync(new TableEntity(referralId, ReferralEntity.RowKeyValue), TableUpdateMode.Merge);
            }

            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (IsFirstBatch(message))
            {
                other.UpsertEntity(new TableEntity(referralId, ReferralEntity.RowKeyValue), TableUpdateMode.Merge);
            }

            ProcessNext(message, pipeline);
        }

        private bool IsFirstBatch(HttpMessage message) =>
            message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal) && Interlocked.Exchange(ref fired, 1) == 0;
    }
}
