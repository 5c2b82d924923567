using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.DevHost;
using Referrals.DevHost.MailSink;
using Referrals.Functions;
using Referrals.Functions.Notifications;
using Referrals.Functions.Operations;
using Referrals.Functions.Operations.Alerts;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Its own Azurite and DevHost, with the default 15-minute quiet period. The tests drive the app's own services on
/// FakeTimeProvider clocks set years ahead (the host's real-time digest timer then finds every quiet period still
/// running), and read what reached SendGrid from the DevHost's mail sink.
/// </summary>
public sealed class AlertFixture : IAsyncLifetime
{
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(15);

    private static readonly DateTimeOffset Epoch = new DateTimeOffset(DateTimeOffset.UtcNow.Year + 5, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private int days;

    public AzuriteInstance Azurite { get; private set; } = null!;
    public DevHostApp Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        Host = await PipelineFixture.StartHostAsync(Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Alerts:QuietPeriod"] = QuietPeriod.ToString("c", CultureInfo.InvariantCulture),
            ["Intake:ReconcileAfter"] = "1.00:00:00",
        });
    }

    /// <summary>A clock a day past the previous test's: quiet periods (per condition, shared) never overlap between tests.</summary>
    public FakeTimeProvider NextClock() => new(Epoch.AddDays(Interlocked.Increment(ref days)));

    /// <summary>The app's services, configured as the host's, on <paramref name="clock"/>; they send to the host's mail sink.</summary>
    public ServiceProvider ServicesAt(TimeProvider clock)
    {
        var configuration = Host.Services.GetRequiredService<IConfiguration>();
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        services.AddSingleton(configuration);
        services.AddSingleton(Host.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostEnvironment>());
        services.AddLogging();
        services.AddReferralPipeline(configuration);
        return services.BuildServiceProvider();
    }

    public IReadOnlyList<SinkMail> OperatorMails() =>
        Host.Services.GetRequiredService<MailStore>().Newest().Where(m => m.To.Contains("operators@clinic.test")).Reverse().ToList();

    public TableClient Table(string name) => new(Azurite.ConnectionString, name);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class AlertCollection : ICollectionFixture<AlertFixture>
{
    public const string Name = "alerts";
}

/// <summary>Operator alerts: once per condition and referral, the first at once, the rest of a quiet period as one digest.</summary>
[Collection(AlertCollection.Name)]
public sealed class AlertTests(AlertFixture fixture)
{
    private const string VisitorName = "Alma Alertson";
    private const string VisitorMessage = "private words about my depression";

    private TableClient Referrals => fixture.Table(StorageNames.ReferralsTable);

    private async Task<string> InsertReferralAsync(TimeProvider clock, bool urgent = false, bool toTriage = false)
    {
        var id = ReferralId.New();
        var now = clock.GetUtcNow();
        var entity = ReferralEntity.From(id, new ValidReferral(VisitorName, $"alma-{id}@example.com", "IL", "oral-ketamine", Phone: "+13125550111", Message: VisitorMessage, Urgent: urgent), now);
        await Referrals.AddNewAsync(entity, new StatusChange(ReferralStatus.Received, now, Actor.Visitor, "Submitted the interest form."), CancellationToken.None);
        if (toTriage)
        {
            var stored = (await Referrals.FindReferralAsync(id, CancellationToken.None))!;
            var triage = stored.ToCase();
            triage.SendToTriage(now, "Sent to triage: no specialist in IL.");
            await Referrals.SaveAsync(stored, triage, CancellationToken.None);
        }

        return id;
    }

    private static Task PoisonAsync(IServiceProvider services, string id, bool urgent = false)
    {
        var poison = ActivatorUtilities.CreateInstance<PoisonMessages>(services);
        var body = JsonSerializer.Serialize(new ReferralMessage(id), JsonSerializerOptions.Web);
        return urgent ? poison.UrgentNotificationPoison(body, CancellationToken.None) : poison.NotificationPoison(body, CancellationToken.None);
    }

    private List<SinkMail> MailsAbout(IEnumerable<string> ids) =>
        fixture.OperatorMails().Where(m => ids.Any(id => m.Subject.Contains(id, StringComparison.Ordinal) || (m.Text ?? "").Contains(id, StringComparison.Ordinal))).ToList();

    private List<SinkMail> MailsAbout(params string[] ids) => MailsAbout((IEnumerable<string>)ids);

    [Fact]
    public async Task The_first_alert_goes_out_at_once_and_the_same_condition_for_the_same_referral_is_never_sent_again()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var id = await InsertReferralAsync(clock);

        await PoisonAsync(services, id);

        var alert = Assert.Single(MailsAbout(id));
        Assert.Equal($"Referral {id} failed", alert.Subject);
        Assert.Contains("referral-notifications", alert.Text);
        Assert.Contains($"/api/ops#referral={id}", alert.Text);
        Assert.Contains("next 15 minutes come together in one digest", alert.Text);

        // A second copy of the failure, and the same alert raised again directly: both add nothing.
        clock.Advance(TimeSpan.FromMinutes(1));
        await PoisonAsync(services, id);
        var again = new OperatorAlert(AlertCondition.Poison, id, StorageNames.NotificationQueue, new Dictionary<string, string> { [AlertWording.Queue] = StorageNames.NotificationQueue });
        Assert.Equal(AlertOutcome.AlreadyRaised, await services.GetRequiredService<OperatorAlerts>().RaiseAsync(again, CancellationToken.None));
        clock.Advance(AlertFixture.QuietPeriod);
        await services.GetRequiredService<AlertDigests>().SendDueAsync(CancellationToken.None);

        Assert.Single(MailsAbout(id));
    }

    [Fact]
    public async Task Twenty_poison_messages_in_a_quiet_period_send_one_alert_at_once_and_one_digest_naming_the_other_nineteen()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await InsertReferralAsync(clock));
        }

        foreach (var id in ids)
        {
            await PoisonAsync(services, id);
            clock.Advance(TimeSpan.FromSeconds(20)); // the storm lasts under 7 minutes: all within the quiet period
        }

        var first = Assert.Single(MailsAbout(ids));
        Assert.Equal($"Referral {ids[0]} failed", first.Subject);

        // Before the quiet period ends the digest timer sends nothing.
        var digests = services.GetRequiredService<AlertDigests>();
        Assert.Equal(0, (await digests.SendDueAsync(CancellationToken.None))[AlertCondition.Poison]);
        Assert.Single(MailsAbout(ids));

        clock.Advance(AlertFixture.QuietPeriod);
        Assert.Equal(19, (await digests.SendDueAsync(CancellationToken.None))[AlertCondition.Poison]);

        var mails = MailsAbout(ids);
        Assert.Equal(2, mails.Count);
        var digest = mails[1];
        Assert.Equal($"19 referrals failed (from {ids[1]})", digest.Subject);
        foreach (var id in ids.Skip(1))
        {
            Assert.Contains($"- {id} (referral-notifications): ", digest.Text);
            Assert.Contains($"/api/ops#referral={id}\"", digest.Html);
        }

        Assert.DoesNotContain(ids[0], digest.Text);
        Assert.Equal([nameof(EmailKind.OperatorAlertDigest)], digest.Categories);
    }

    [Fact]
    public async Task A_retried_or_concurrent_digest_run_does_not_send_twice()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await InsertReferralAsync(clock));
            await PoisonAsync(services, ids[^1]);
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        clock.Advance(AlertFixture.QuietPeriod + TimeSpan.FromSeconds(1));
        // Two instances' timers at once, then the same run retried.
        await using var other = fixture.ServicesAt(clock);
        await Task.WhenAll(
            services.GetRequiredService<AlertDigests>().SendDueAsync(CancellationToken.None),
            other.GetRequiredService<AlertDigests>().SendDueAsync(CancellationToken.None));
        await services.GetRequiredService<AlertDigests>().SendDueAsync(CancellationToken.None);
        clock.Advance(AlertFixture.QuietPeriod + TimeSpan.FromSeconds(1));
        await services.GetRequiredService<AlertDigests>().SendDueAsync(CancellationToken.None);

        var mails = MailsAbout(ids);
        Assert.Equal(2, mails.Count);
        Assert.Equal($"3 referrals failed (from {ids[1]})", mails[1].Subject);
        var rows = fixture.Table(StorageNames.EmailLedgerTable).Query<AlertEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {AlertEntity.PartitionFor(AlertCondition.Poison)}")).Where(r => ids.Contains(r.ReferralId)).ToList();
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal((AlertEntity.Sent, (string?)null), (r.State, r.Facts)));
        Assert.Single(rows, r => r.SentAs!.StartsWith("OperatorAlert-", StringComparison.Ordinal));
        Assert.Equal(3, rows.Count(r => r.SentAs!.StartsWith("OperatorAlertDigest-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_alert_that_meets_the_closed_rate_gate_is_kept_and_sent_by_the_digest_timer()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var id = await InsertReferralAsync(clock);
        // SendGrid said 429 until well past the gate's wait: nothing may go out for an hour.
        await services.GetRequiredService<SendGridRateGate>().CloseUntilAsync(clock.GetUtcNow().AddHours(1), CancellationToken.None);

        await PoisonAsync(services, id);

        Assert.Empty(MailsAbout(id));
        var row = (await fixture.Table(StorageNames.EmailLedgerTable).GetEntityAsync<AlertEntity>(AlertEntity.PartitionFor(AlertCondition.Poison), AlertEntity.RowKeyFor(id, StorageNames.NotificationQueue))).Value;
        Assert.Equal(AlertEntity.Pending, row.State);

        var digests = services.GetRequiredService<AlertDigests>();
        clock.Advance(AlertFixture.QuietPeriod + TimeSpan.FromMinutes(1));
        await digests.SendDueAsync(CancellationToken.None); // the gate is still closed: kept again
        Assert.Empty(MailsAbout(id));

        clock.Advance(TimeSpan.FromHours(1));
        await digests.SendDueAsync(CancellationToken.None);

        var alert = Assert.Single(MailsAbout(id));
        Assert.Equal($"Referral {id} failed", alert.Subject); // one waiting alert goes as itself, not as a digest of one
    }

    [Fact]
    public async Task A_digest_SendGrid_refuses_goes_again_at_the_next_digest_run_not_a_quiet_period_later()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var first = await InsertReferralAsync(clock);
        var waiting = await InsertReferralAsync(clock);
        await PoisonAsync(services, first); // sent at once: the quiet period opens
        await PoisonAsync(services, waiting); // collected for the digest
        Assert.Single(MailsAbout(first, waiting));

        // When the quiet period ends SendGrid refuses for a while (a 429 whose reset is past the gate's wait).
        clock.Advance(AlertFixture.QuietPeriod + TimeSpan.FromSeconds(1));
        await services.GetRequiredService<SendGridRateGate>().CloseUntilAsync(clock.GetUtcNow().AddSeconds(30), CancellationToken.None);
        var digests = services.GetRequiredService<AlertDigests>();
        await digests.SendDueAsync(CancellationToken.None);
        Assert.Single(MailsAbout(first, waiting));

        // The timer's next run, a minute on: the refused digest goes now, not after another quiet period.
        clock.Advance(TimeSpan.FromMinutes(1));
        await digests.SendDueAsync(CancellationToken.None);
        Assert.Equal($"Referral {waiting} failed", MailsAbout(waiting).Last().Subject);

        // Discarded, as an operator would: parked rows left behind would be "waiting too long" on a later test's clock.
        var parked = fixture.Table(StorageNames.PoisonTable);
        foreach (var row in parked.Query<TableEntity>(TableClient.CreateQueryFilter($"ReferralId eq {first} or ReferralId eq {waiting}")).ToList())
        {
            await parked.DeleteEntityAsync(row.PartitionKey, row.RowKey);
        }
    }

    [Fact]
    public async Task Alerts_and_digests_carry_references_and_links_never_personal_or_health_details()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await InsertReferralAsync(clock, urgent: true));
            await PoisonAsync(services, ids[^1], urgent: true);
        }

        clock.Advance(AlertFixture.QuietPeriod + TimeSpan.FromSeconds(1));
        await services.GetRequiredService<AlertDigests>().SendDueAsync(CancellationToken.None);

        var mails = MailsAbout(ids);
        Assert.Equal(2, mails.Count);
        foreach (var mail in mails)
        {
            var everything = string.Join("\n", mail.Subject, mail.Text, mail.Html, mail.Payload.ToJsonString());
            Assert.DoesNotMatch(@"\bIL\b", everything);
            foreach (var secret in new[] { "Alma", "Alertson", "@example.com", "Illinois", "ketamine", "depression", "private words", "5550111", "urgent", "priorit", "crisis" })
            {
                Assert.DoesNotContain(secret, everything, StringComparison.OrdinalIgnoreCase);
            }

            Assert.Contains("referral-notifications", mail.Text); // the queue, without the urgent flag
            Assert.Contains("/api/ops#referral=", mail.Text);
        }
    }

    [Fact]
    public async Task A_bounced_specialist_email_alerts_operators_once()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var id = await InsertReferralAsync(clock);

        // SendGrid reports the bounce, then a drop of the same email: one alert.
        foreach (var kind in new[] { "bounce", "dropped" })
        {
            var answer = await ActivatorUtilities.CreateInstance<SendGridEvents>(services).Run(SignedEventPost(id, "SpecialistNewReferral-1", kind, clock.GetUtcNow()), CancellationToken.None);
            Assert.Equal(StatusCodes.Status200OK, (answer as IStatusCodeHttpResult)?.StatusCode);
        }

        var alert = Assert.Single(MailsAbout(id));
        Assert.Equal($"Referral {id}: an email to the specialist did not arrive", alert.Subject);
        Assert.Contains("\"bounce\" for the SpecialistNewReferral email", alert.Text);
        Assert.DoesNotContain("someone@example.com", alert.Text + alert.Html);
    }

    [Fact]
    public async Task A_referral_sent_to_triage_alerts_operators_once_from_its_notification_step()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var id = await InsertReferralAsync(clock, toTriage: true);
        var notifications = ActivatorUtilities.CreateInstance<SendNotifications>(services);

        await notifications.Run(new ReferralMessage(id), CancellationToken.None);
        await notifications.Run(new ReferralMessage(id), CancellationToken.None); // redelivered

        var alert = Assert.Single(MailsAbout(id));
        Assert.Equal($"Referral {id} went to triage", alert.Subject);
        Assert.Contains("triage coordinator has been emailed", alert.Text);
        Assert.Contains(fixture.Host.Services.GetRequiredService<MailStore>().Newest(), m => m.To.Contains("triage@clinic.test") && m.Subject.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_parked_message_that_waits_past_the_health_threshold_alerts_operators_once()
    {
        var clock = fixture.NextClock();
        await using var services = fixture.ServicesAt(clock);
        var id = await InsertReferralAsync(clock);
        await PoisonAsync(services, id);
        var check = services.GetRequiredService<PoisonWaitingCheck>();

        Assert.Equal(0, await check.CheckAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(61)); // Health:PoisonOlderThan is an hour
        Assert.Equal(1, await check.CheckAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, await check.CheckAsync(CancellationToken.None));

        var waiting = MailsAbout(id).Where(m => m.Subject == $"Referral {id}: a parked message still waits").ToList();
        var alert = Assert.Single(waiting);
        Assert.Contains("referral-notifications has been parked for more than 01:00:00", alert.Text);
    }

    /// <summary>A signed Event Webhook post about one of a referral's emails, as SendGrid sends it, for calling the function directly.</summary>
    private static HttpRequest SignedEventPost(string referralId, string ledgerKey, string kind, DateTimeOffset at)
    {
        var payload = new JsonArray(new JsonObject
        {
            ["email"] = "someone@example.com", ["timestamp"] = at.ToUnixTimeSeconds(), ["event"] = kind,
            ["sg_event_id"] = Guid.NewGuid().ToString("N"), ["sg_message_id"] = "msg-1.filter",
            [SendNotifications.ReferralIdArg] = referralId, [SendNotifications.LedgerKeyArg] = ledgerKey, [SendGridEvents.SendIdArg] = Guid.NewGuid().ToString("N"),
        }).ToJsonString();
        var timestamp = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = PipelineFixture.WebhookKey.SignData(Encoding.UTF8.GetBytes(timestamp + payload), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var context = new DefaultHttpContext();
        var body = Encoding.UTF8.GetBytes(payload);
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = body.Length;
        context.Request.Body = new MemoryStream(body);
        context.Request.Headers[SendGridEvents.SignatureHeader] = Convert.ToBase64String(signature);
        context.Request.Headers[SendGridEvents.TimestampHeader] = timestamp;
        return context.Request;
    }
}
