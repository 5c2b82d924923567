using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using Referrals.Core.Referrals;
using Referrals.DevHost.Storage;
using Referrals.Functions;
using Referrals.Functions.Intake;
using Referrals.Functions.Notifications;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// The crisis box does what it says: operators are alerted once, the referral is handled ahead of ordinary work and on
/// a shorter clock, and neither emails nor logs say who ticked it.
/// </summary>
[Collection(PipelineCollection.Name)]
public partial class UrgentTests(PipelineFixture fixture, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const string Operators = "operators@clinic.test";
    private readonly HttpClient http = fixture.Http;

    private IServiceProvider Services => fixture.Host.Services;

    private TableClient Table(string name) => new(fixture.Azurite.ConnectionString, name);

    private static string AlertSubject(string id) => $"Priority referral {id} needs attention now";

    private async Task<string> SubmitAsync(string state, string treatment, bool urgent, string name = "Robin Urgent", string? email = null, string? phone = null, string? message = null)
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name, email = email ?? $"urgent-{Guid.NewGuid():N}@example.com", phone, contactMethod = phone is null ? "email" : "text", message,
            state, treatment, urgent, consent = true, privacyAcknowledged = true, adult = true,
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
    }

    private async Task<ReferralEntity> ReferralAsync(string id) => (await Table(StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!;

    private Task<ReferralEntity> WaitForStatusAsync(string id, params string[] statuses) =>
        Eventually.UntilAsync(() => ReferralAsync(id), r => statuses.Contains(r.Status), TimeSpan.FromSeconds(30), $"{id} to be {string.Join(" or ", statuses)}");

    private async Task<List<JsonObject>> MailsAsync() =>
        (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).ToList();

    private async Task<JsonObject> WaitForMailAsync(Func<JsonObject, bool> match, string what) =>
        (await Eventually.UntilAsync(async () => (await MailsAsync()).FirstOrDefault(match), m => m is not null, TimeSpan.FromSeconds(30), what))!;

    private static bool Subject(JsonObject mail, string subject) => mail["subject"]!.ToString() == subject;

    private static string To(JsonObject mail) => mail["to"]![0]!.ToString();

    [Fact]
    public async Task An_urgent_referral_alerts_operators_once_with_the_reference_and_a_signed_link_and_nothing_else()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (name, email, message) = ($"Ophelia{marker} Private", $"alert-{marker}@example.com", $"Private note {marker}");
        var id = await SubmitAsync("NY", "consultation", urgent: true, name, email, "(305) 555-0161", message);

        var alert = await WaitForMailAsync(m => Subject(m, AlertSubject(id)), "the operators' alert");
        Assert.Equal(Operators, To(alert));
        // Without the signed link, whose token is random text.
        var exposed = ReviewLink().Replace(string.Join("\n", alert["subject"], alert["text"], alert["html"], alert["payload"]!.ToJsonString()), "");
        foreach (var value in new[] { name, marker, email, "555-0161", "3055550161", message, "New York", "consultation", "Consultation", "harm", "crisis", "988" })
        {
            Assert.DoesNotContain(value, exposed, StringComparison.OrdinalIgnoreCase);
        }

        // The link opens the referral for operators: the page says why, with the person's contact details.
        var link = ReviewLink().Match(alert["text"]!.ToString()).Value;
        var page = await http.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains(name, html);
        Assert.Contains("<strong>Urgent:</strong>", html);
        var tampered = await http.GetAsync(link[..^3] + (link[^3] == 'a' ? "b" : "a") + link[^2..]);
        Assert.Equal(HttpStatusCode.BadRequest, tampered.StatusCode);
        Assert.DoesNotContain(name, await tampered.Content.ReadAsStringAsync());

        // Redelivered notification messages, on either queue, send no second alert and no second confirmation.
        await WaitForStatusAsync(id, "Notified");
        await using (var scope = Services.CreateAsyncScope())
        {
            var notifications = ActivatorUtilities.CreateInstance<SendNotifications>(scope.ServiceProvider);
            await notifications.RunUrgent(new ReferralMessage(id), CancellationToken.None);
            await notifications.RunUrgent(new ReferralMessage(id), CancellationToken.None);
            await notifications.Run(new ReferralMessage(id), CancellationToken.None);
        }

        var mails = await MailsAsync();
        Assert.Single(mails, m => Subject(m, AlertSubject(id)));
        var confirmation = Assert.Single(mails, m => To(m) == email);
        Assert.Equal($"We received your request ({id})", confirmation["subject"]!.ToString());
        foreach (var word in new[] { "urgent", "priorit", "ahead of", "alert" })
        {
            Assert.DoesNotContain(word, confirmation["text"]!.ToString() + confirmation["html"], StringComparison.OrdinalIgnoreCase);
        }

        var ledger = await Table(StorageNames.ReferralsTable).GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("UrgentAlert"));
        Assert.Equal(EmailLedgerEntity.Sent, ledger.Value.State);
    }

    [Fact]
    public async Task An_ordinary_referral_alerts_nobody()
    {
        var id = await SubmitAsync("NY", "consultation", urgent: false);

        await WaitForStatusAsync(id, "Notified");
        await WaitForMailAsync(m => Subject(m, $"New referral {id}"), "the specialist email");
        Assert.DoesNotContain(await MailsAsync(), m => Subject(m, AlertSubject(id)));
        Assert.False((await Table(StorageNames.ReferralsTable).GetEntityIfExistsAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("UrgentAlert"))).HasValue);
    }

    [Fact]
    public async Task The_alert_goes_out_even_while_routing_fails()
    {
        // Stored but never queued, so only this test routes it: through a router whose directory is unreachable.
        var id = ReferralId.New();
        var referrals = Table(StorageNames.ReferralsTable);
        await referrals.AddNewAsync(
            ReferralEntity.From(id, new ValidReferral("Rita Retry", $"retry-{Guid.NewGuid():N}@example.com", "NY", "consultation", Urgent: true), DateTimeOffset.UtcNow),
            new StatusChange(ReferralStatus.Received, DateTimeOffset.UtcNow, Actor.Visitor, "test"), CancellationToken.None);
        var broken = new SpecialistDirectory(Table($"NoSpecialists{Guid.NewGuid():N}"[..30]), Table($"NoLoads{Guid.NewGuid():N}"[..30]), Options.Create(new DirectoryOptions()), TimeProvider.System);
        var queues = Services.GetRequiredService<PipelineQueues>();
        var router = new ReferralRouter(referrals, queues, broken, Services.GetRequiredService<IOptions<RoutingOptions>>(), TimeProvider.System, NullLogger<ReferralRouter>.Instance);

        await Assert.ThrowsAnyAsync<Azure.RequestFailedException>(() => new RouteReferral(referrals, queues, router).RunUrgent(new ReferralMessage(id), CancellationToken.None));

        await WaitForMailAsync(m => Subject(m, AlertSubject(id)), "the alert, though routing failed");
        Assert.Equal(nameof(ReferralStatus.Received), (await ReferralAsync(id)).Status);
    }

    [Fact]
    public async Task An_urgent_referral_is_routed_ahead_of_a_backlog_of_ordinary_ones()
    {
        // Its own Azurite, so the backlog and the urgent referral are both waiting before any listener starts.
        await using var azurite = await AzuriteInstance.StartAsync();
        var connection = azurite.ConnectionString;
        await StorageBootstrap.CreateAsync(connection, StorageNames.Queues, StorageNames.Tables, CancellationToken.None);
        QueueClient Queue(string name) => new(connection, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var queues = new PipelineQueues(Queue(StorageNames.IntakeQueue), Queue(StorageNames.UrgentIntakeQueue), Queue(StorageNames.NotificationQueue), Queue(StorageNames.UrgentNotificationQueue));
        var referrals = new TableClient(connection, StorageNames.ReferralsTable);
        var now = DateTimeOffset.UtcNow;

        // The backlog: 300 ordinary referrals queued for routing (Alaska: they go to triage).
        var backlog = Enumerable.Range(0, 300).Select(_ => ReferralId.New()).ToList();
        await Parallel.ForEachAsync(backlog, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
        {
            await referrals.AddNewAsync(
                ReferralEntity.From(id, new ValidReferral("Bea Backlog", $"backlog-{Guid.NewGuid():N}@example.com", "AK", "consultation"), now),
                new StatusChange(ReferralStatus.Received, now, Actor.Visitor, "test"), ct);
            await queues.RouteAsync(id, urgent: false, ct);
        });

        // Then an urgent one whose intake message was lost: the reconciler queues it, on the urgent queue.
        var urgent = ReferralId.New();
        var earlier = now - TimeSpan.FromMinutes(10);
        await referrals.AddNewAsync(
            ReferralEntity.From(urgent, new ValidReferral("Ursa Urgent", $"first-{Guid.NewGuid():N}@example.com", "NY", "consultation", Urgent: true), earlier),
            new StatusChange(ReferralStatus.Received, earlier, Actor.Visitor, "test"), CancellationToken.None);
        var intake = ActivatorUtilities.CreateInstance<IntakeService>(Services, referrals, queues);
        var reconciler = new ReconcileReceived(referrals, queues, intake, Options.Create(new IntakeOptions { ReconcileAfter = TimeSpan.FromMinutes(5) }), TimeProvider.System, NullLogger<ReconcileReceived>.Instance);
        Assert.Equal(1, await reconciler.RequeueStuckAsync(CancellationToken.None));
        Assert.Equal(1, (await queues.Intake(urgent: true).GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(backlog.Count, (await queues.Intake(urgent: false).GetPropertiesAsync()).Value.ApproximateMessagesCount);

        await using var host = await PipelineFixture.StartHostAsync(azurite);
        await Eventually.UntilAsync(async () => (await referrals.FindReferralAsync(urgent, CancellationToken.None))!.Status, s => s != nameof(ReferralStatus.Received), TimeSpan.FromSeconds(60), "the urgent referral to be routed");

        var stillWaiting = 0;
        await foreach (var row in referrals.QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"RowKey eq {ReferralEntity.RowKeyValue} and Status eq {nameof(ReferralStatus.Received)}"), select: ["Status"]))
        {
            stillWaiting++;
        }

        Assert.True(stillWaiting >= backlog.Count / 2, $"The urgent referral was routed when only {stillWaiting} of {backlog.Count} ordinary ones were still waiting.");
    }

    [Fact]
    public async Task A_submission_is_queued_for_routing_on_the_queue_of_its_urgency()
    {
        // The intake function with its queues swapped for capture queues, so nothing consumes what it sends.
        QueueClient Capture() => new(fixture.Azurite.ConnectionString, $"capture-{Guid.NewGuid():N}", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var (ordinaryIntake, urgentIntake) = (Capture(), Capture());
        await Task.WhenAll(ordinaryIntake.CreateAsync(), urgentIntake.CreateAsync());
        var real = Services.GetRequiredService<PipelineQueues>();
        var capture = new PipelineQueues(ordinaryIntake, urgentIntake, real.Notifications(urgent: false), real.Notifications(urgent: true));

        async Task<string> PostAsync(bool urgent)
        {
            var email = $"queue-{Guid.NewGuid():N}@example.com";
            await using var scope = Services.CreateAsyncScope();
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = scope.ServiceProvider };
            context.Connection.RemoteIpAddress = IPAddress.Parse($"2001:db8:d:{Random.Shared.Next(1, 65535):x}::1");
            context.Request.Method = "POST";
            context.Request.ContentType = "application/json";
            context.Request.Body = new MemoryStream(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
            {
                name = "Quinn Queue", email, state = "NY", treatment = "consultation", urgent, consent = true, privacyAcknowledged = true, adult = true,
            }));
            var submit = ActivatorUtilities.CreateInstance<SubmitReferral>(scope.ServiceProvider,
                ActivatorUtilities.CreateInstance<IntakeRequest>(scope.ServiceProvider, ActivatorUtilities.CreateInstance<IntakeService>(scope.ServiceProvider, capture)));
            await submit.Run(context.Request, CancellationToken.None);
            var stored = new List<ReferralEntity>();
            await foreach (var row in Table(StorageNames.ReferralsTable).QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"Email eq {email}")))
            {
                stored.Add(row);
            }

            return Assert.Single(stored).PartitionKey;
        }

        var urgentId = await PostAsync(urgent: true);
        var ordinaryId = await PostAsync(urgent: false);

        static async Task<List<string>> IdsAsync(QueueClient queue) =>
            (await queue.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToObjectFromJson<ReferralMessage>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!.ReferralId).ToList();
        Assert.Equal([urgentId], await IdsAsync(urgentIntake));
        Assert.Equal([ordinaryId], await IdsAsync(ordinaryIntake));
        await Task.WhenAll(ordinaryIntake.DeleteAsync(), urgentIntake.DeleteAsync());
    }

    [Fact]
    public async Task An_urgent_referral_runs_on_the_short_clock_and_an_ordinary_one_is_untouched()
    {
        // Illinois oral ketamine has one specialist, sp-007, who stays silent.
        var urgent = await SubmitAsync("IL", "oral-ketamine", urgent: true);
        var ordinary = await SubmitAsync("IL", "oral-ketamine", urgent: false);
        var urgentAssigned = (await WaitForStatusAsync(urgent, "Notified")).AssignedAt!.Value;
        var ordinaryAssigned = (await WaitForStatusAsync(ordinary, "Notified")).AssignedAt!.Value;

        // The specialist's email asks for an answer on the referral's own clock, without saying why it is shorter.
        var urgentOffer = await WaitForMailAsync(m => Subject(m, $"New referral {urgent}"), "the urgent referral's specialist email");
        var ordinaryOffer = await WaitForMailAsync(m => Subject(m, $"New referral {ordinary}"), "the ordinary referral's specialist email");
        Assert.Contains(RespondBy(urgentAssigned + TimeSpan.FromHours(4)), urgentOffer["text"]!.ToString());
        Assert.Contains(RespondBy(ordinaryAssigned + TimeSpan.FromHours(48)), ordinaryOffer["text"]!.ToString());
        foreach (var word in new[] { "urgent", "priorit", "harm", "crisis" })
        {
            Assert.DoesNotContain(word, urgentOffer["subject"] + urgentOffer["text"]!.ToString() + urgentOffer["html"], StringComparison.OrdinalIgnoreCase);
        }

        // Its page, behind the signed link, marks it urgent.
        var page = await http.GetStringAsync(RespondLink().Match(urgentOffer["text"]!.ToString()).Value);
        Assert.Contains("<strong>Urgent:</strong>", page);
        Assert.DoesNotContain("<strong>Urgent:</strong>", await http.GetStringAsync(RespondLink().Match(ordinaryOffer["text"]!.ToString()).Value));

        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var routing = Services.GetRequiredService<IOptions<RoutingOptions>>();
        var queues = Services.GetRequiredService<PipelineQueues>();
        var referrals = Table(StorageNames.ReferralsTable);
        var router = new ReferralRouter(referrals, queues, Services.GetRequiredService<SpecialistDirectory>(), routing, clock, NullLogger<ReferralRouter>.Instance);
        var monitor = new SlaMonitor(referrals, queues, router, routing, clock, NullLogger<SlaMonitor>.Instance);

        clock.Advance(TimeSpan.FromHours(3.9));
        await monitor.CheckAsync(CancellationToken.None);
        Assert.Equal(0, (await ReferralAsync(urgent)).ReminderForAssignment);

        clock.Advance(TimeSpan.FromHours(0.2)); // 4 h 6 min
        await monitor.CheckAsync(CancellationToken.None);
        Assert.Equal(1, (await ReferralAsync(urgent)).ReminderForAssignment);
        Assert.Equal(0, (await ReferralAsync(ordinary)).ReminderForAssignment);
        await WaitForMailAsync(m => Subject(m, $"Reminder: referral {urgent}") && To(m) == "kwame.mensah@example.org", "the urgent reminder");

        clock.Advance(TimeSpan.FromHours(3.9)); // 8 h
        await monitor.CheckAsync(CancellationToken.None);
        var rerouted = await ReferralAsync(urgent);
        Assert.Contains("sp-007", rerouted.ExcludedIds);
        Assert.Equal(1, rerouted.TimedOutAssignment);
        var slaAlert = await WaitForMailAsync(m => Subject(m, $"Referral {urgent}: no answer from sp-007"), "the operators' SLA alert");
        Assert.Equal(Operators, To(slaAlert));

        var untouched = await ReferralAsync(ordinary);
        Assert.Equal(nameof(ReferralStatus.Notified), untouched.Status);
        Assert.Equal(("sp-007", 1, 0, 0), (untouched.AssignedSpecialistId, untouched.Assignment, untouched.ReminderForAssignment, untouched.TimedOutAssignment));
        Assert.DoesNotContain(await MailsAsync(), m => Subject(m, $"Reminder: referral {ordinary}"));

        // One alert for the referral, however often it is routed (nobody else offers it: triage, after the same emails).
        await WaitForMailAsync(m => Subject(m, $"Referral {urgent} needs triage"), "the triage notice after the re-route");
        Assert.Single(await MailsAsync(), m => Subject(m, AlertSubject(urgent)));
    }

    [Fact]
    public async Task Urgent_submissions_are_counted_in_a_metric_without_ids()
    {
        var meters = Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var urgentCount = new MetricCollector<long>(meters, IntakeMetrics.MeterName, IntakeMetrics.UrgentCounter);
        using var acceptedCount = new MetricCollector<long>(meters, IntakeMetrics.MeterName, IntakeMetrics.AcceptedCounter);

        await SubmitAsync("NY", "consultation", urgent: true);
        await SubmitAsync("NY", "consultation", urgent: false);

        Assert.Equal(1, Assert.Single(urgentCount.GetMeasurementSnapshot()).Value);
        Assert.Equal(2, acceptedCount.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.All(urgentCount.GetMeasurementSnapshot().Concat(acceptedCount.GetMeasurementSnapshot()), m => Assert.Empty(m.Tags));
    }

    [Fact]
    public async Task No_log_record_carries_the_urgent_flag_next_to_a_reference()
    {
        var id = await SubmitAsync("NY", "consultation", urgent: true);
        await WaitForMailAsync(m => Subject(m, AlertSubject(id)), "the alert");
        await WaitForStatusAsync(id, "Notified");

        // Every record the collection's host has logged so far, from every test, framework and listener included.
        var logs = fixture.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Message.Contains(id, StringComparison.Ordinal));
        foreach (var record in logs)
        {
            var text = $"{record.Category} {record.Message} {record.Exception}";
            if (ReferenceInLog().IsMatch(text))
            {
                Assert.False(UrgencyInLog().IsMatch(text), $"A log record names a referral and its urgency: {text}");
            }
        }
    }

    [Fact]
    public async Task A_visitor_who_ticks_the_crisis_box_is_told_what_happens_and_operators_get_one_alert()
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Host.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            ExtraHTTPHeaders = new Dictionary<string, string> { ["X-Forwarded-For"] = $"2001:db8:c:{Random.Shared.Next(1, 65535):x}::1" },
        });
        var page = await context.NewPageAsync();
        await page.GotoAsync("api/interest");
        var loadedAt = DateTimeOffset.UtcNow;

        var box = page.GetByLabel("I am having thoughts of harming myself");
        Assert.Equal("urgent-hint", await box.GetAttributeAsync("aria-describedby"));
        Assert.Contains("alert our team by email at once", await page.Locator("#urgent-hint").InnerTextAsync());
        await page.GetByLabel("Full name").FillAsync("Casey Crisis");
        await page.GetByLabel("Email address").FillAsync($"crisis-{Guid.NewGuid():N}@example.com");
        await page.GetByLabel("State where you live").SelectOptionAsync("NY");
        await page.GetByLabel("What would you like to learn about?").SelectOptionAsync("consultation");
        await box.CheckAsync();
        await page.GetByLabel("I agree to be contacted").CheckAsync();
        await page.GetByLabel("I have read the privacy notice").CheckAsync();
        await page.GetByLabel("I am 18 or older").CheckAsync();
        await PipelineFixture.AfterMinimumFillTimeAsync(loadedAt);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send my request" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/api/interest/thanks"));

        Assert.True(await page.GetByRole(AriaRole.Heading, new() { Name = "Please reach out for support now" }).IsVisibleAsync());
        Assert.True(await page.GetByText("We are alerting our team by email now").IsVisibleAsync());
        var reference = (await page.Locator(".reference").InnerTextAsync()).Trim();
        await WaitForMailAsync(m => Subject(m, AlertSubject(reference)), "the alert for the form's referral");
        await WaitForStatusAsync(reference, "Notified");
        Assert.Single(await MailsAsync(), m => Subject(m, AlertSubject(reference)));
        await context.CloseAsync();
    }

    private static string RespondBy(DateTimeOffset at) => at.ToString("dddd d MMMM, HH:mm 'UTC'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"http\S+/api/review/referral\?t=\S+")]
    private static partial Regex ReviewLink();

    [GeneratedRegex(@"http\S+/api/specialist/respond\?t=\S+")]
    private static partial Regex RespondLink();

    [GeneratedRegex("R-[0-9A-Z]{5}-[0-9A-Z]{5}")]
    private static partial Regex ReferenceInLog();

    [GeneratedRegex("urgent|priority", RegexOptions.IgnoreCase)]
    private static partial Regex UrgencyInLog();
}
