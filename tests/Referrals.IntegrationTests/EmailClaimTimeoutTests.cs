using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.DevHost;
using Referrals.DevHost.MailSink;
using Referrals.Functions;
using Referrals.Functions.Notifications;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Its own Azurite and a DevHost started with Email:ClaimTimeout = 20 s (the host starting at all says the value is
/// accepted). The tests drive the notification function of the app's own services, configured as the host's, on a
/// FakeTimeProvider; what reaches SendGrid is read from the host's mail sink.
/// </summary>
public sealed class EmailClaimTimeoutFixture : IAsyncLifetime
{
    public static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(20);

    public AzuriteInstance Azurite { get; private set; } = null!;
    public DevHostApp Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        Host = await PipelineFixture.StartHostAsync(Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Email:ClaimTimeout"] = "00:00:20",
            // The referrals are written straight into the table: the host's reconciler must not route them meanwhile.
            ["Intake:ReconcileAfter"] = "1.00:00:00",
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

public sealed class EmailClaimTimeoutTests(EmailClaimTimeoutFixture fixture) : IClassFixture<EmailClaimTimeoutFixture>
{
    private const string Confirmation = "VisitorConfirmation";

    /// <summary>Without the Event Webhook nothing could report the dead claimant's attempt, so nothing waits for a report: the claim timeout alone decides.</summary>
    private static readonly Dictionary<string, string?> NoWebhook = new() { ["Email:EventWebhookPublicKey"] = "" };

    /// <summary>Each test's own queue, so the host's listener never takes the message this test's invocation queues again.</summary>
    private sealed class RecordingQueue(string connectionString) : QueueClient(connectionString, $"claim-{Guid.NewGuid():N}", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
    {
        public ConcurrentQueue<TimeSpan?> Visibilities { get; } = new();

        public override Task<Response<SendReceipt>> SendMessageAsync(string messageText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        {
            Visibilities.Enqueue(visibilityTimeout);
            return base.SendMessageAsync(messageText, visibilityTimeout, timeToLive, cancellationToken);
        }
    }

    /// <summary>The time each "come back later" names, as the function logs it (structured, so the exact value).</summary>
    private sealed class ComeBackLog : ILoggerProvider
    {
        public ConcurrentQueue<DateTimeOffset> At { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Recorder(categoryName == typeof(SendNotifications).FullName ? At : null);

        public void Dispose()
        {
        }

        private sealed class Recorder(ConcurrentQueue<DateTimeOffset>? at) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => at is not null;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (at is not null && state is IEnumerable<KeyValuePair<string, object?>> pairs && pairs.FirstOrDefault(p => p.Key == "At").Value is DateTimeOffset value)
                {
                    at.Enqueue(value);
                }
            }
        }
    }

    private sealed record Rig(ServiceProvider Services, SendNotifications Notifications, RecordingQueue Queue, ComeBackLog Log) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Services.DisposeAsync();
    }

    /// <summary>The app's services as the host's configuration (plus <paramref name="overrides"/>) makes them, on <paramref name="clock"/>.</summary>
    private async Task<Rig> RigAsync(TimeProvider clock, IReadOnlyDictionary<string, string?> overrides)
    {
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(fixture.Host.Services.GetRequiredService<IConfiguration>())
            .AddInMemoryCollection(overrides)
            .Build();
        var log = new ComeBackLog();
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(fixture.Host.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostEnvironment>());
        services.AddLogging();
        services.AddSingleton<ILoggerProvider>(log);
        services.AddSingleton<ILoggerProvider, SuiteLogGuard>();
        services.AddReferralPipeline(configuration);
        var provider = services.BuildServiceProvider();

        var queue = new RecordingQueue(fixture.Azurite.ConnectionString);
        await queue.CreateAsync();
        var queues = new PipelineQueues(queue, queue, queue, queue);
        return new Rig(provider, ActivatorUtilities.CreateInstance<SendNotifications>(provider, queues), queue, log);
    }

    /// <summary>
    /// A referral offered to a specialist, whose confirmation email a dead invocation claimed at <paramref name="claimedAt"/>:
    /// the row as it is left when the host is killed between the claim and SendGrid's answer.
    /// </summary>
    private static async Task<(string Id, string Visitor, string SendId)> ReferralWithStaleClaimAsync(IServiceProvider services, DateTimeOffset claimedAt)
    {
        var referrals = services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralsTable);
        var id = ReferralId.New();
        var visitor = $"claim-{Guid.NewGuid():N}@example.com";
        var receivedAt = claimedAt - TimeSpan.FromSeconds(10);
        await referrals.AddNewAsync(ReferralEntity.From(id, new ValidReferral("Clara Claim", visitor, "IL", "oral-ketamine"), receivedAt),
            new StatusChange(ReferralStatus.Received, receivedAt, Actor.Visitor, "Submitted the interest form."), CancellationToken.None);
        var stored = (await referrals.FindReferralAsync(id, CancellationToken.None))!;
        var routed = stored.ToCase();
        routed.Offer("sp-007", receivedAt, "Routed to specialist sp-007.");
        await referrals.SaveAsync(stored, routed, CancellationToken.None);

        var sendId = Guid.NewGuid().ToString("N");
        await referrals.AddEntityAsync(new EmailLedgerEntity
        {
            PartitionKey = id, RowKey = EmailLedgerEntity.RowKeyFor(Confirmation), LedgerKey = Confirmation,
            State = EmailLedgerEntity.Claimed, ClaimedAt = claimedAt, Attempts = 1, SendId = sendId,
        });
        return (id, visitor, sendId);
    }

    /// <summary>Mails about this referral to the address: the specialist is emailed about every test's referral.</summary>
    private int MailsTo(string address, string id) =>
        fixture.Host.Services.GetRequiredService<MailStore>().Newest().Count(m => m.To.Contains(address) && m.Subject.Contains(id, StringComparison.Ordinal));

    private static async Task<EmailLedgerEntity> ConfirmationRowAsync(IServiceProvider services, string id) =>
        (await services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralsTable).GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor(Confirmation))).Value;

    /// <summary>A whole second, so the queue's whole-second visibility is exact.</summary>
    private static DateTimeOffset WholeSecondNow() => DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    [Fact]
    public async Task A_claim_younger_than_the_claim_timeout_is_left_to_its_claimant_and_the_message_comes_back_when_it_runs_out()
    {
        var claimedAt = WholeSecondNow();
        var clock = new FakeTimeProvider(claimedAt);
        await using var rig = await RigAsync(clock, NoWebhook);
        var (id, visitor, sendId) = await ReferralWithStaleClaimAsync(rig.Services, claimedAt);
        var specialist = (await rig.Services.GetRequiredService<Referrals.Functions.Routing.SpecialistDirectory>().FindAsync("sp-007", CancellationToken.None))!.Email;

        clock.Advance(TimeSpan.FromSeconds(5));
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);

        Assert.Equal(0, MailsTo(visitor, id));
        var row = await ConfirmationRowAsync(rig.Services, id);
        Assert.Equal((EmailLedgerEntity.Claimed, claimedAt, 1, sendId), (row.State, row.ClaimedAt, row.Attempts, row.SendId));
        // Exactly ClaimedAt + 20 s (the fixed minute would say + 60 s); queued for the 15 s still to go.
        Assert.Equal([claimedAt + EmailClaimTimeoutFixture.ClaimTimeout], rig.Log.At);
        Assert.Equal([TimeSpan.FromSeconds(15)], rig.Queue.Visibilities);
        Assert.Equal(1, (await rig.Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Empty((await rig.Queue.PeekMessagesAsync()).Value); // queued invisible, not for now

        // Not vacuous: the invocation did run, and sent the email nobody held.
        Assert.Equal(1, MailsTo(specialist, id));
        Assert.Equal("Routed", (await rig.Services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Once_the_claim_timeout_has_run_out_the_next_invocation_takes_the_claim_over_and_sends_the_email_once()
    {
        var claimedAt = WholeSecondNow();
        var clock = new FakeTimeProvider(claimedAt);
        await using var rig = await RigAsync(clock, NoWebhook);
        var (id, visitor, sendId) = await ReferralWithStaleClaimAsync(rig.Services, claimedAt);

        // A millisecond before it runs out the claim still holds.
        clock.Advance(EmailClaimTimeoutFixture.ClaimTimeout - TimeSpan.FromMilliseconds(1));
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);
        Assert.Equal(0, MailsTo(visitor, id));
        Assert.Equal([claimedAt + EmailClaimTimeoutFixture.ClaimTimeout], rig.Log.At);

        // At ClaimedAt + 20 s, the time it asked to come back at, it is taken over (the fixed minute would hold it still).
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);
        Assert.Equal(1, MailsTo(visitor, id));
        var row = await ConfirmationRowAsync(rig.Services, id);
        Assert.Equal((EmailLedgerEntity.Sent, claimedAt + EmailClaimTimeoutFixture.ClaimTimeout, 2), (row.State, row.ClaimedAt, row.Attempts));
        Assert.NotEqual(sendId, row.SendId); // a new attempt of its own, which the webhook can tell from the dead one
        Assert.Single(rig.Log.At); // nothing held any more: no further come-back
        Assert.Equal("Notified", (await rig.Services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!.Status);

        // The message queued for the come-back, and any redelivery, send it no second time.
        clock.Advance(TimeSpan.FromMinutes(2));
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);
        Assert.Equal(1, MailsTo(visitor, id));
    }

    [Fact]
    public async Task With_the_event_webhook_a_stale_claim_also_waits_out_the_unknown_outcome_grace_when_that_is_longer()
    {
        // The dead claimant may have reached SendGrid: with the webhook, its report is waited for as for a timed-out attempt.
        var claimedAt = WholeSecondNow();
        var clock = new FakeTimeProvider(claimedAt);
        await using var rig = await RigAsync(clock, new Dictionary<string, string?> { ["Email:UnknownOutcomeGrace"] = "00:01:00" });
        var (id, visitor, _) = await ReferralWithStaleClaimAsync(rig.Services, claimedAt);

        clock.Advance(TimeSpan.FromSeconds(5));
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);
        clock.Advance(EmailClaimTimeoutFixture.ClaimTimeout); // past the claim timeout, within the grace
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);
        Assert.Equal(0, MailsTo(visitor, id));
        Assert.Equal([claimedAt + EmailClaimTimeoutFixture.ClaimTimeout, claimedAt + TimeSpan.FromMinutes(1)], rig.Log.At);

        clock.SetUtcNow(claimedAt + TimeSpan.FromMinutes(1));
        await rig.Notifications.Run(new ReferralMessage(id), CancellationToken.None);
        Assert.Equal(1, MailsTo(visitor, id));
    }

    [Fact]
    public void The_default_claim_timeout_is_one_minute_and_the_host_binds_the_configured_one()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), new EmailOptions().ClaimTimeout);
        Assert.Equal(EmailClaimTimeoutFixture.ClaimTimeout, fixture.Host.Services.GetRequiredService<IOptions<EmailOptions>>().Value.ClaimTimeout);
    }

    [Theory]
    [InlineData("00:00:04")]
    [InlineData("01:00:01")]
    public async Task A_claim_timeout_outside_5_seconds_to_an_hour_stops_the_app_at_start(string value)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Email:ClaimTimeout"] = value,
        }));

        Assert.Contains(nameof(EmailOptions.ClaimTimeout), failure.Message);
    }
}
