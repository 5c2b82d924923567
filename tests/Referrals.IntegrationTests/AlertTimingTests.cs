using System.Reflection;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.DevHost;
using Referrals.DevHost.MailSink;
using Referrals.DevHost.Timers;
using Referrals.Functions;
using Referrals.Functions.Notifications;
using Referrals.Functions.Operations;
using Referrals.Functions.Operations.Alerts;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Its own Azurite and DevHost with the app's DEFAULT alert options: the suite's settings pin Alerts:QuietPeriod to
/// zero, so that key is left out here rather than overridden. Clocks are years ahead, as in <see cref="AlertFixture"/>,
/// so the host's real-time digest timer finds the quiet period still running and leaves the test's alerts alone.
/// </summary>
public sealed class DefaultAlertFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Epoch = new(DateTimeOffset.UtcNow.Year + 5, 1, 1, 9, 0, 0, TimeSpan.Zero);

    public AzuriteInstance Azurite { get; private set; } = null!;
    public DevHostApp Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        var settings = PipelineFixture.Settings(Azurite);
        settings.Remove($"{AlertOptions.Section}:{nameof(AlertOptions.QuietPeriod)}");
        settings["Intake:ReconcileAfter"] = "1.00:00:00";
        // As PipelineFixture.StartHostAsync, which cannot leave a setting out.
        Host = await DevHostApp.StartAsync([], settings, services =>
        {
            services.AddFakeLogging();
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider, SuiteLogGuard>();
        });
    }

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

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class DefaultAlertCollection : ICollectionFixture<DefaultAlertFixture>
{
    public const string Name = "alerts-default";
}

/// <summary>
/// The promise of the README and docs/operators.md: with the default options every operator alert reaches operators
/// within 5 minutes of being raised (the first at once, the rest in the digest when the quiet period ends).
/// </summary>
[Collection(DefaultAlertCollection.Name)]
public sealed class AlertTimingTests(DefaultAlertFixture fixture)
{
    private static readonly TimeSpan Promised = TimeSpan.FromMinutes(5);

    /// <summary>The digest timer's schedule as the host reads it, from the function's own trigger.</summary>
    private static string DigestSchedule() =>
        typeof(SendAlertDigests).GetMethod(nameof(SendAlertDigests.Run))!.GetParameters()
            .Select(p => p.GetCustomAttribute<TimerTriggerAttribute>()).Single(a => a is not null)!.Schedule;

    private async Task<string> InsertReferralAsync(IServiceProvider services, TimeProvider clock)
    {
        var id = ReferralId.New();
        var now = clock.GetUtcNow();
        var entity = ReferralEntity.From(id, new ValidReferral("Tim Timing", $"tim-{id}@example.com", "IL", "oral-ketamine"), now);
        await services.GetRequiredKeyedService<Azure.Data.Tables.TableClient>(StorageNames.ReferralsTable)
            .AddNewAsync(entity, new StatusChange(ReferralStatus.Received, now, Actor.Visitor, "Submitted the interest form."), CancellationToken.None);
        return id;
    }

    private static Task PoisonAsync(IServiceProvider services, string id) =>
        ActivatorUtilities.CreateInstance<PoisonMessages>(services)
            .NotificationPoison(JsonSerializer.Serialize(new ReferralMessage(id), JsonSerializerOptions.Web), CancellationToken.None);

    [Fact]
    public async Task With_the_default_quiet_period_every_poison_alert_reaches_operators_within_5_minutes_of_being_raised()
    {
        var clock = new FakeTimeProvider(DefaultAlertFixture.Epoch);
        await using var services = fixture.ServicesAt(clock);
        var quietPeriod = services.GetRequiredService<IOptions<AlertOptions>>().Value.QuietPeriod;
        Assert.Equal(new AlertOptions().QuietPeriod, quietPeriod); // nothing in the host's configuration overrides it
        Assert.Equal(quietPeriod, fixture.Host.Services.GetRequiredService<IOptions<AlertOptions>>().Value.QuietPeriod);

        var nextTick = TimerTriggerService.ParseSchedule(DigestSchedule());
        var firstTick = nextTick(clock.GetUtcNow().UtcDateTime);
        var tickInterval = nextTick(firstTick) - firstTick;
        // The worst case: the quiet period opens just after a timer tick, so the digest waits for the tick after it
        // ends; an alert raised right after the first waits almost the quiet period and a whole tick interval.
        // A tick's digest run may read the clock late (the timer's own delay, earlier conditions' digests, the SendGrid
        // call), and a run that reads it a hair before the quiet period ends leaves the digest to the next tick; and a
        // digest SendGrid refuses goes again at the tick after. The default keeps a whole tick for each.
        Assert.True(new AlertOptions().QuietPeriod + tickInterval + tickInterval + tickInterval <= Promised,
            $"the default quiet period {new AlertOptions().QuietPeriod}, the digest timer's {tickInterval}, a tick for its lateness and one for a refused digest exceed the promised {Promised}");

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await InsertReferralAsync(services, clock));
        }

        // The first alert one second after a tick, the second a few seconds later, the third just before the quiet
        // period ends (and just before a tick, which must not send the digest yet).
        var first = clock.GetUtcNow().AddSeconds(1);
        var raises = new List<(DateTimeOffset At, string Id)>
        {
            (first, ids[0]),
            (first.AddSeconds(5), ids[1]),
            (first + quietPeriod - TimeSpan.FromSeconds(2), ids[2]),
        };
        var end = raises[^1].At + quietPeriod + 2 * tickInterval;

        // Each operator mail, with the fake time at which the stand-in had taken it.
        var acceptedAt = new Dictionary<string, (SinkMail Mail, DateTimeOffset At)>();
        void Collect()
        {
            foreach (var mail in fixture.OperatorMails().Where(m => ids.Any(id => (m.Subject + m.Text).Contains(id, StringComparison.Ordinal))))
            {
                acceptedAt.TryAdd(mail.MessageId, (mail, clock.GetUtcNow()));
            }
        }

        // The host's timer: on each occurrence of the schedule, with the alerts raised between them at their times.
        var digestTimer = ActivatorUtilities.CreateInstance<SendAlertDigests>(services);
        var due = new DateTimeOffset(nextTick(clock.GetUtcNow().UtcDateTime), TimeSpan.Zero);
        var raised = 0;
        while (due <= end)
        {
            if (raised < raises.Count && raises[raised].At < due)
            {
                clock.SetUtcNow(raises[raised].At);
                await PoisonAsync(services, raises[raised].Id);
                raised++;
            }
            else
            {
                clock.SetUtcNow(due);
                await digestTimer.Run(new TimerInfo { IsPastDue = false }, CancellationToken.None);
                due = new DateTimeOffset(nextTick(due.UtcDateTime), TimeSpan.Zero);
            }

            Collect();
        }

        Assert.Equal(raises.Count, raised);
        var mails = acceptedAt.Values.OrderBy(m => m.At).ToList();
        Assert.Equal(2, mails.Count); // the first alert at once, then one digest naming both later referrals
        Assert.Equal($"Referral {ids[0]} failed", mails[0].Mail.Subject);
        Assert.Equal(first, mails[0].At);
        var digest = mails[1].Mail;
        Assert.Equal($"2 referrals failed (from {ids[1]})", digest.Subject);
        Assert.Contains($"- {ids[1]} (referral-notifications): ", digest.Text);
        Assert.Contains($"- {ids[2]} (referral-notifications): ", digest.Text);
        Assert.Equal([nameof(EmailKind.OperatorAlertDigest)], digest.Categories);

        foreach (var (at, id) in raises)
        {
            var (_, sentAt) = mails.Single(m => (m.Mail.Subject + m.Mail.Text).Contains(id, StringComparison.Ordinal));
            Assert.True(sentAt - at <= Promised, $"the alert raised at {at:HH:mm:ss} went out at {sentAt:HH:mm:ss}, {sentAt - at} later (promised {Promised})");
        }

        // The second alert took the worst path: past the quiet period, within one tick more.
        var secondWaited = mails[1].At - raises[1].At;
        Assert.InRange(secondWaited, quietPeriod, quietPeriod + tickInterval);

        // The ledger agrees: each row sent at most 5 minutes after it was raised, on the same clock.
        var rows = services.GetRequiredKeyedService<Azure.Data.Tables.TableClient>(StorageNames.EmailLedgerTable)
            .Query<AlertEntity>(Azure.Data.Tables.TableClient.CreateQueryFilter($"PartitionKey eq {AlertEntity.PartitionFor(AlertCondition.Poison)}"))
            .Where(r => ids.Contains(r.ReferralId)).ToList();
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.True(r.State == AlertEntity.Sent && r.SentAt - r.RaisedAt <= Promised, $"{r.ReferralId}: {r.State}, raised {r.RaisedAt:HH:mm:ss}, sent {r.SentAt:HH:mm:ss}"));
    }
}
