using Referrals.Core.Security;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Functions;
using Referrals.Functions.Intake;
using Referrals.Functions.Notifications;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;
using SendGrid;

namespace Referrals.IntegrationTests;

/// <summary>
/// After an erasure nothing pending acts on the referral: queued routing, the reconciler, the SLA monitor's reminders
/// and re-routes, and an email already on its way. The queue handlers are invoked directly (as the host would) so
/// the test knows when they have run.
/// </summary>
[Collection(LifecycleCollection.Name)]
public class ErasurePendingWorkTests(LifecycleFixture fixture)
{
    private IServiceProvider Services => fixture.Host.Services;

    private ReferralErasure Erasure => Services.GetRequiredService<ReferralErasure>();

    private TableClient Referrals => fixture.Table(StorageNames.ReferralsTable);

    private async Task<QueueClient> PrivateQueueAsync()
    {
        var queue = new QueueClient(fixture.Azurite.ConnectionString, $"spy-{Guid.NewGuid():N}", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateAsync();
        return queue;
    }

    private static async Task<List<string>> BodiesAsync(QueueClient queue) =>
        (await queue.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).ToList();

    private async Task<List<TableEntity>> PartitionAsync(TableClient table, string id)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id}")))
        {
            rows.Add(row);
        }

        return rows;
    }

    private async Task<List<JsonObject>> MailsAsync() =>
        (await fixture.Http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).ToList();

    [Fact]
    public async Task Queued_routing_and_the_reconciler_leave_an_erased_referral_alone()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var retained = await fixture.InsertReferralAsync(marker, DateTimeOffset.UtcNow);
        var withdrawn = await fixture.InsertReferralAsync(marker, DateTimeOffset.UtcNow);
        Assert.True(await Erasure.EraseForRetentionAsync(retained, CancellationToken.None));
        Assert.True(await Erasure.EraseAsync(withdrawn, Actor.Operator, "test", CancellationToken.None));
        Assert.Equal("Received", (await Referrals.FindReferralAsync(retained, CancellationToken.None))!.Status); // the stub keeps its status

        // Their intake messages were still waiting when the erasure happened.
        var route = ActivatorUtilities.CreateInstance<RouteReferral>(Services);
        await route.Run(new ReferralMessage(retained), CancellationToken.None);
        await route.Run(new ReferralMessage(withdrawn), CancellationToken.None);

        foreach (var (id, status) in new[] { (retained, "Received"), (withdrawn, "Withdrawn") })
        {
            var stub = (await Referrals.FindReferralAsync(id, CancellationToken.None))!;
            Assert.Equal(status, stub.Status);
            Assert.Null(stub.AssignedSpecialistId);
            Assert.DoesNotContain(await PartitionAsync(Referrals, id), r => r.RowKey.StartsWith(ReferralRouter.DecisionRowPrefix, StringComparison.Ordinal));
        }

        // A day later the reconciler would queue a Received referral again; never an erased one.
        var spy = await PrivateQueueAsync();
        var spyQueues = new PipelineQueues(spy, spy, spy, spy);
        var reconciler = new ReconcileReceived(Referrals, spyQueues, Services.GetRequiredService<IntakeService>(), Services.GetRequiredService<IOptions<IntakeOptions>>(),
            new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(2)), NullLogger<ReconcileReceived>.Instance);
        var stillReceived = await fixture.InsertReferralAsync(marker, DateTimeOffset.UtcNow);
        await reconciler.RequeueStuckAsync(CancellationToken.None);
        var queued = await BodiesAsync(spy);
        Assert.Contains(queued, b => b.Contains(stillReceived, StringComparison.Ordinal)); // the reconciler did run
        Assert.DoesNotContain(queued, b => b.Contains(retained, StringComparison.Ordinal));
        await Erasure.EraseAsync(stillReceived, Actor.Operator, "test cleanup", CancellationToken.None);
    }

    [Fact]
    public async Task The_sla_monitor_neither_reminds_nor_reroutes_an_erased_referral()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        void Assign(ReferralEntity r)
        {
            r.AssignedSpecialistId = "sp-007";
            r.AssignedAt = now;
            r.Assignment = 1;
        }

        var retained = await fixture.InsertReferralAsync(marker, now, routed: Assign);
        var withdrawn = await fixture.InsertReferralAsync(marker, now, routed: Assign);
        var control = await fixture.InsertReferralAsync(marker, now, routed: Assign);
        Assert.True(await Erasure.EraseForRetentionAsync(retained, CancellationToken.None));
        Assert.True(await Erasure.EraseAsync(withdrawn, Actor.Visitor, "test", CancellationToken.None));

        var spy = await PrivateQueueAsync();
        var clock = new FakeTimeProvider(now);
        var routing = Services.GetRequiredService<IOptions<RoutingOptions>>();
        var spyQueues = new PipelineQueues(spy, spy, spy, spy);
        var router = new ReferralRouter(Referrals, spyQueues, Services.GetRequiredService<SpecialistDirectory>(), routing, clock, NullLogger<ReferralRouter>.Instance);
        var monitor = new SlaMonitor(Referrals, spyQueues, router, routing, clock, NullLogger<SlaMonitor>.Instance);

        clock.Advance(routing.Value.ReminderAfter + TimeSpan.FromHours(1));
        await monitor.CheckAsync(CancellationToken.None);
        clock.Advance(routing.Value.TimeoutAfterReminder);
        await monitor.CheckAsync(CancellationToken.None);

        var queued = await BodiesAsync(spy);
        Assert.Contains(queued, b => b.Contains(control, StringComparison.Ordinal)); // the monitor did act on a live one
        Assert.Equal(2, (await Referrals.FindReferralAsync(control, CancellationToken.None))!.Assignment);
        foreach (var (id, status) in new[] { (retained, "Routed"), (withdrawn, "Withdrawn") })
        {
            Assert.DoesNotContain(queued, b => b.Contains(id, StringComparison.Ordinal));
            var stub = (await Referrals.FindReferralAsync(id, CancellationToken.None))!;
            Assert.Equal((status, 0, 0), (stub.Status, stub.ReminderForAssignment, stub.Assignment));
            Assert.DoesNotContain(await PartitionAsync(Referrals, id), r => r.RowKey.StartsWith(ReferralRouter.DecisionRowPrefix, StringComparison.Ordinal));
        }

        await Erasure.EraseAsync(control, Actor.Operator, "test cleanup", CancellationToken.None);
    }

    [Fact]
    public async Task The_triage_and_review_links_of_an_erased_referral_show_nothing()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var id = await fixture.InsertReferralAsync(marker, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        var links = Services.GetRequiredService<ReferralLinks>();
        var triage = links.TriageUrl(id, 0);
        var review = links.ReviewUrl(id);
        Assert.Contains(marker, await fixture.Http.GetStringAsync(triage), StringComparison.Ordinal);
        Assert.Contains(marker, await fixture.Http.GetStringAsync(review), StringComparison.Ordinal);

        Assert.True(await Erasure.EraseForRetentionAsync(id, CancellationToken.None));

        foreach (var link in new[] { triage, review })
        {
            var page = await fixture.Http.GetAsync(link);
            Assert.Equal(System.Net.HttpStatusCode.Gone, page.StatusCode);
            Assert.Contains("withdrawn or its details erased", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    /// <summary>Erases the referral while SendGrid is answering the first email about it, then lets the answer through.</summary>
    private sealed class EraseDuringSend(Func<Task> erase) : DelegatingHandler
    {
        private int sends;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref sends) == 1)
            {
                await erase();
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task Emails_in_flight_when_the_referral_is_erased_leave_no_record_behind_and_nothing_is_sent_after()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        var id = await fixture.InsertReferralAsync(marker, now, routed: r =>
        {
            r.AssignedSpecialistId = "sp-007";
            r.AssignedAt = now;
            r.Assignment = 1;
        });
        var visitor = (await Referrals.FindReferralAsync(id, CancellationToken.None))!.Email;
        var email = Services.GetRequiredService<IOptions<EmailOptions>>().Value;
        var sendGrid = new SendGridClient(
            new HttpClient(new EraseDuringSend(() => Erasure.EraseAsync(id, Actor.Visitor, "test", CancellationToken.None)) { InnerHandler = new HttpClientHandler() }),
            new SendGridClientOptions { ApiKey = email.SendGridApiKey, Host = email.SendGridHost });
        var notifications = ActivatorUtilities.CreateInstance<SendNotifications>(Services, ActivatorUtilities.CreateInstance<EmailSender>(Services, sendGrid));

        await notifications.Run(new ReferralMessage(id), CancellationToken.None);

        // The notice the erasure queued goes out through the host; wait for it so nothing is still in flight.
        await Eventually.UntilAsync(async () => (await MailsAsync()).Count(m => m["subject"]!.ToString() == $"Referral {id} withdrawn"), n => n == 1, TimeSpan.FromSeconds(20), "the notice");
        // Of the referral's emails only the withdrawal notice's row is left in its partition, and no event names it elsewhere.
        Assert.Equal([EmailLedgerEntity.RowKeyFor("SpecialistWithdrawn")], (await PartitionAsync(Referrals, id)).Select(r => r.RowKey).Where(k => k.StartsWith(EmailLedgerEntity.RowKeyPrefix, StringComparison.Ordinal)));
        Assert.Empty(await PartitionAsync(fixture.Table(StorageNames.EmailLedgerTable), id));
        var counter = IntakeKeys.EmailLimit(Services.GetRequiredService<KeyedHash>(), visitor);
        Assert.Empty(await PartitionAsync(fixture.Table(StorageNames.IntakeGuardsTable), counter));
        var stub = (await Referrals.FindReferralAsync(id, CancellationToken.None))!;
        Assert.Equal("Withdrawn", stub.Status);
        Assert.DoesNotContain(await Referrals.GetHistoryAsync(id, CancellationToken.None), h => h.Status == ReferralStatus.Notified);

        // Both emails were claimed before the erasure, so both go: they cannot be called back (the
        // specialist's withdrawal notice follows). Nothing is sent after the erasure, not even on a redelivery.
        var mails = await MailsAsync();
        Assert.Single(mails, m => m["to"]![0]!.ToString() == visitor);
        await notifications.Run(new ReferralMessage(id), CancellationToken.None);
        Assert.Equal(mails.Count, (await MailsAsync()).Count);
    }

    [Fact]
    public async Task The_withdrawal_notice_is_queued_with_ids_only_names_only_the_reference_and_is_sent_once()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        var id = await fixture.InsertReferralAsync(marker, now, routed: r =>
        {
            r.AssignedSpecialistId = "sp-007";
            r.AssignedAt = now;
            r.Assignment = 1;
        });
        var spy = await PrivateQueueAsync();
        var erasure = ActivatorUtilities.CreateInstance<ReferralErasure>(Services, spy);

        Assert.True(await erasure.EraseAsync(id, Actor.Visitor, "test", CancellationToken.None));

        var body = Assert.Single(await BodiesAsync(spy));
        Assert.Equal($$"""{"referralId":"{{id}}","withdrawnSpecialistId":"sp-007"}""", body);
        var message = System.Text.Json.JsonSerializer.Deserialize<ReferralMessage>(body, System.Text.Json.JsonSerializerOptions.Web)!;
        var notifications = ActivatorUtilities.CreateInstance<SendNotifications>(Services);
        await notifications.Run(message, CancellationToken.None);
        await notifications.Run(message, CancellationToken.None); // a redelivery

        var notice = Assert.Single(await MailsAsync(), m => m["subject"]!.ToString() == $"Referral {id} withdrawn");
        Assert.Equal("kwame.mensah@example.org", notice["to"]![0]!.ToString());
        var payload = notice.ToJsonString();
        foreach (var term in new[] { marker, "Illinois", "oral", "ketamine", "3125550111" })
        {
            Assert.DoesNotContain(term, payload, StringComparison.OrdinalIgnoreCase);
        }
    }
}
