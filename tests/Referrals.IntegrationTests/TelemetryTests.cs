using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Referrals.DevHost;
using Referrals.Functions.Intake;
using Referrals.Functions.Observability;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// A DevHost with OpenTelemetry's in-memory exporters added through DI, as any exporter would be. Spans from other
/// test hosts in this process reach its exporter too (activity listeners are process-wide): tests pick theirs by the
/// trace id they start each journey with.
/// </summary>
public sealed class TelemetryFixture : IAsyncLifetime
{
    public List<Activity> Spans { get; } = [];
    public List<Metric> Metrics { get; } = [];
    public AzuriteInstance Azurite { get; private set; } = null!;
    public DevHostApp Host { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        Host = await PipelineFixture.StartHostAsync(Azurite, services =>
        {
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(Spans));
            services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(Metrics));
        });
        Http = new HttpClient(new DistinctClientHandler { InnerHandler = new HttpClientHandler { AllowAutoRedirect = false } }) { BaseAddress = Host.BaseAddress };
        // A browser's description of itself identifies the visitor more than a span needs.
        Http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
    }

    public const string UserAgent = "OtelVisitorBrowser/7.3";

    /// <summary>The spans exported so far in <paramref name="trace"/>.</summary>
    public List<Activity> SpansOf(ActivityTraceId trace)
    {
        lock (Spans)
        {
            return Spans.Where(s => s.TraceId == trace).ToList();
        }
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

/// <summary>
/// Alone, after the parallel collections: instrumentations of every host in the process see every HTTP call, and
/// another host's SendGrid filter would mark this host's SendGrid spans unrecorded.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryFixture>
{
    public const string Name = "telemetry";
}

[Collection(TelemetryCollection.Name)]
public partial class TelemetryTests(TelemetryFixture fixture)
{
    private const string VisitorName = "Ottoline Tracewell";
    private const string Phone = "(212) 555-0143";
    private const string State = "NY";
    private const string Treatment = "iv-ketamine-infusion";

    private readonly HttpClient http = fixture.Http;

    /// <summary>A test's own trace: every request made while it is current carries its traceparent to the DevHost.</summary>
    private static Activity StartTrace()
    {
        var root = new Activity("telemetry-test").SetIdFormat(ActivityIdFormat.W3C);
        root.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        return root.Start();
    }

    private async Task<(string Id, string Email)> SubmitAsync()
    {
        var email = $"otel-{Guid.NewGuid():N}@example.com";
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = VisitorName, email, phone = Phone, contactMethod = "phone", state = State, treatment = Treatment,
            consent = true, privacyAcknowledged = true, adult = true,
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        return (id, email);
    }

    private Task WaitForStatusAsync(string id, string status) => Eventually.UntilAsync(
        () => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)),
        s => s!["status"]!.ToString() == status,
        TimeSpan.FromSeconds(30),
        $"referral {id} to be {status}");

    private async Task<List<JsonObject>> MailsAsync(string id)
    {
        var all = await http.GetFromJsonAsync<JsonArray>("/mail/messages");
        return all!.Select(m => m!.AsObject()).Where(m => m["subject"]!.ToString().Contains(id, StringComparison.Ordinal)).ToList();
    }

    private async Task<string> RespondLinkAsync(string id)
    {
        var mails = await Eventually.UntilAsync(() => MailsAsync(id), m => m.Any(x => RespondLink().IsMatch(x["text"]!.ToString())), TimeSpan.FromSeconds(30), "the specialist's email");
        return mails.Select(m => RespondLink().Match(m["text"]!.ToString())).First(m => m.Success).Value;
    }

    /// <summary>Spans end a little after the work they describe: wait until the ones a test needs are exported.</summary>
    private Task<List<Activity>> SpansAsync(ActivityTraceId trace, Func<List<Activity>, bool> complete, string what) =>
        Eventually.UntilAsync(() => Task.FromResult(fixture.SpansOf(trace)), complete, TimeSpan.FromSeconds(15), what);

    [Fact]
    public async Task A_referrals_intake_routing_and_notification_spans_share_one_trace()
    {
        ActivityTraceId trace;
        string id;
        using (var root = StartTrace())
        {
            trace = root.TraceId;
            (id, _) = await SubmitAsync();
            await WaitForStatusAsync(id, "Notified");
        }

        var spans = await SpansAsync(trace, s => s.Count(x => x.DisplayName == ReferralTelemetry.EmailSpan) >= 2 && s.Any(x => x.DisplayName == "notify"), "the notification spans");

        var intake = Assert.Single(spans, s => s.Kind == ActivityKind.Server && s.GetTagItem("url.path") is "/api/referrals" && s.GetTagItem("http.request.method") is "POST");
        var publish = Assert.Single(spans, s => s.DisplayName == $"send {StorageNames.IntakeQueue}");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        var route = Assert.Single(spans, s => s.DisplayName == "route");
        Assert.Equal(ActivityKind.Consumer, route.Kind);
        Assert.Equal(publish.SpanId, route.ParentSpanId);
        Assert.Contains(spans, s => s.DisplayName == ReferralTelemetry.QueueWaitSpan && s.ParentSpanId == publish.SpanId);
        var notifyPublish = Assert.Single(spans, s => s.DisplayName == $"send {StorageNames.NotificationQueue}");
        Assert.Equal(route.SpanId, notifyPublish.ParentSpanId);
        var notify = Assert.Single(spans, s => s.DisplayName == "notify");
        Assert.Equal(notifyPublish.SpanId, notify.ParentSpanId);
        var emails = spans.Where(s => s.DisplayName == ReferralTelemetry.EmailSpan).ToList();
        Assert.Equal(2, emails.Count);
        Assert.All(emails, e => Assert.Equal(notify.SpanId, e.ParentSpanId));
        Assert.Equal(["SpecialistNewReferral", "VisitorConfirmation"], emails.Select(e => e.GetTagItem(ReferralTelemetry.EmailKindTag) as string).Order());
        // SendGrid's calls, by the HTTP client instrumentation, under each email's span.
        var sendGrid = spans.Where(s => s.Kind == ActivityKind.Client && s.Source.Name == "System.Net.Http").ToList();
        Assert.Equal(2, sendGrid.Count);
        Assert.All(sendGrid, s => Assert.Contains(emails, e => e.SpanId == s.ParentSpanId));
        Assert.All(sendGrid, s => Assert.EndsWith("/sendgrid/v3/mail/send", (string)s.GetTagItem("url.full")!));
        Assert.True(intake.StartTimeUtc <= route.StartTimeUtc);
        // The pipeline's spans carry no reference: the trace id is the correlation id.
        Assert.DoesNotContain(spans, s => s.Source.Name == ReferralTelemetry.SourceName && Text(s).Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_queue_message_carries_the_traceparent_and_nothing_else_new()
    {
        var queue = new QueueServiceClient(fixture.Azurite.ConnectionString).GetQueueClient($"otel-{Guid.NewGuid():N}");
        await queue.CreateAsync();
        using (var root = StartTrace())
        {
            await queue.SendReferralAsync("R-ABCDE-FGHJK", CancellationToken.None);
            var message = (await queue.ReceiveMessageAsync()).Value;
            var json = JsonNode.Parse(message.Body.ToString())!.AsObject();

            Assert.Equal(["referralId", "traceparent"], json.Select(p => p.Key).Order());
            var traceParent = json["traceparent"]!.ToString();
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", traceParent);
            Assert.Equal(root.TraceId.ToString(), traceParent.Split('-')[1]);
            // The span it names is the producer's, whose parent is the sender's.
            var publish = Assert.Single(fixture.SpansOf(root.TraceId), s => s.SpanId.ToString() == traceParent.Split('-')[2]);
            Assert.Equal(ActivityKind.Producer, publish.Kind);
            Assert.Equal(root.SpanId, publish.ParentSpanId);
        }

        await queue.DeleteAsync();
    }

    [Fact]
    public async Task A_message_queued_without_a_traceparent_is_still_processed_in_a_trace_of_its_own()
    {
        var old = JsonSerializer.Deserialize<ReferralMessage>("""{"referralId":"R-ABCDE-FGHJK"}""", JsonSerializerOptions.Web)!;
        Assert.Null(old.TraceParent);
        ActivityTraceId? seen = null;

        await ((QueueConsumer?)null).ConsumeAsync(StorageNames.IntakeQueue, "route", old, DateTimeOffset.UtcNow.AddSeconds(-1), () =>
        {
            seen = Activity.Current?.TraceId;
            return Task.CompletedTask;
        });

        Assert.NotNull(seen);
        var spans = fixture.SpansOf(seen!.Value);
        Assert.Contains(spans, s => s.DisplayName == "route" && s.ParentSpanId == default);
        Assert.Contains(spans, s => s.DisplayName == ReferralTelemetry.QueueWaitSpan && s.Duration >= TimeSpan.FromSeconds(0.9));
    }

    [Fact]
    public async Task A_held_back_message_counts_its_queue_wait_from_when_it_became_visible()
    {
        // As queued (the backstop of a move made outside a queue trigger), and read back as the trigger reads it.
        var held = JsonSerializer.Deserialize<ReferralMessage>(
            JsonSerializer.Serialize(new ReferralMessage("R-ABCDE-FGHJK", HeldBack: TimeSpan.FromMinutes(2)), JsonSerializerOptions.Web), JsonSerializerOptions.Web)!;
        Assert.Equal(TimeSpan.FromMinutes(2), held.HeldBack);
        ActivityTraceId? seen = null;

        // Inserted 2 minutes and 1 second ago, visible for the last second.
        await ((QueueConsumer?)null).ConsumeAsync(StorageNames.NotificationQueue, "notify", held, DateTimeOffset.UtcNow.AddMinutes(-2).AddSeconds(-1), () =>
        {
            seen = Activity.Current?.TraceId;
            return Task.CompletedTask;
        });

        var wait = Assert.Single(fixture.SpansOf(seen!.Value), s => s.DisplayName == ReferralTelemetry.QueueWaitSpan);
        Assert.InRange(wait.Duration, TimeSpan.FromSeconds(0.9), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task No_exported_span_carries_personal_data_a_signed_token_or_a_function_key()
    {
        ActivityTraceId trace;
        string id, email, link;
        using (var root = StartTrace())
        {
            trace = root.TraceId;
            (id, email) = await SubmitAsync();
            await WaitForStatusAsync(id, "Notified");
            link = await RespondLinkAsync(id);
            // The signed link as the specialist opens it, and an operator call with the key in the query.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(link)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/ops/referrals/{id}/routing?code={TestKeys.Host}")).StatusCode);
        }

        var token = Uri.UnescapeDataString(link[(link.IndexOf("?t=", StringComparison.Ordinal) + 3)..]);
        var spans = await SpansAsync(
            trace,
            s => s.Any(x => x.GetTagItem("url.path") is "/api/specialist/respond") && s.Count(x => x.GetTagItem("url.path") is string p && p.Contains("/routing", StringComparison.Ordinal)) >= 2,
            "the link's and the key's requests");
        Assert.NotEmpty(spans);

        var respond = spans.Last(s => s.GetTagItem("url.path") is "/api/specialist/respond");
        Assert.Equal($"?t={TelemetryRedaction.Redacted}", respond.GetTagItem("url.query"));
        var keyed = spans.Last(s => s.GetTagItem("url.path") is string p && p.EndsWith("/routing", StringComparison.Ordinal));
        Assert.Equal($"?code={TelemetryRedaction.Redacted}", keyed.GetTagItem("url.query"));

        string[] secrets = [TelemetryFixture.UserAgent, "OtelVisitorBrowser", VisitorName, "Ottoline", email, Phone, "555-0143", Treatment, "ketamine", token, Uri.EscapeDataString(token), TestKeys.Host, TestKeys.SendGrid];
        foreach (var span in spans)
        {
            var text = Text(span);
            Assert.All(secrets, secret => Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase));
            // The state only as a whole value or a query/path word: hex ids never hold capitals.
            Assert.DoesNotMatch($@"(^|[^A-Za-z0-9]){State}([^A-Za-z0-9]|$)", text);
        }
    }

    [Fact]
    public async Task The_metrics_count_a_referral_received_routed_accepted_and_its_email_attempts()
    {
        var meters = fixture.Host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var received = new MetricCollector<long>(meters, IntakeMetrics.MeterName, IntakeMetrics.AcceptedCounter);
        using var routed = new MetricCollector<long>(meters, IntakeMetrics.MeterName, PipelineMetrics.RoutedCounter);
        using var accepted = new MetricCollector<long>(meters, IntakeMetrics.MeterName, PipelineMetrics.AcceptedCounter);
        using var attempts = new MetricCollector<long>(meters, IntakeMetrics.MeterName, PipelineMetrics.EmailAttemptsCounter);
        using var failures = new MetricCollector<long>(meters, IntakeMetrics.MeterName, PipelineMetrics.EmailFailuresCounter);
        using var waits = new MetricCollector<double>(meters, IntakeMetrics.MeterName, PipelineMetrics.QueueWaitHistogram);

        var (id, _) = await SubmitAsync();
        await WaitForStatusAsync(id, "Notified");
        var link = await RespondLinkAsync(id);
        var token = Uri.UnescapeDataString(link[(link.IndexOf("?t=", StringComparison.Ordinal) + 3)..]);
        var answer = await http.PostAsync("/api/specialist/respond", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token, ["decision"] = "accept" }));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await Eventually.UntilAsync(() => MailsAsync(id), m => m.Count == 3, TimeSpan.FromSeconds(30), "the visitor's acceptance email");
        await Eventually.UntilAsync(() => Task.FromResult(attempts.GetMeasurementSnapshot().Sum(m => m.Value)), n => n >= 3, TimeSpan.FromSeconds(10), "three email attempts");

        Assert.Equal(1, received.GetMeasurementSnapshot().Sum(m => m.Value));
        var routing = Assert.Single(routed.GetMeasurementSnapshot());
        Assert.Equal("specialist", routing.Tags[PipelineMetrics.OutcomeTag]);
        Assert.Equal(1, accepted.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, attempts.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Empty(failures.GetMeasurementSnapshot());
        // Routing, the first emails and the acceptance email each waited in a queue.
        Assert.True(waits.GetMeasurementSnapshot().Count >= 3);
        Assert.All(waits.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
        Assert.All(waits.GetMeasurementSnapshot(), m => Assert.DoesNotContain("urgent", (string)m.Tags[ReferralTelemetry.QueueTag]!, StringComparison.Ordinal));

        // And the exporters see the Meter: what the console and Application Insights would get.
        fixture.Host.Services.GetRequiredService<MeterProvider>().ForceFlush();
        string[] names;
        lock (fixture.Metrics)
        {
            names = fixture.Metrics.Select(m => m.Name).ToArray();
        }

        Assert.Contains(IntakeMetrics.AcceptedCounter, names);
        Assert.Contains(PipelineMetrics.RoutedCounter, names);
        Assert.Contains(PipelineMetrics.EmailAttemptsCounter, names);
        Assert.Contains(PipelineMetrics.QueueWaitHistogram, names);
    }

    [Theory]
    [InlineData("?t=test.eyJhYmMiOiJkZWYifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU&x=1", "?t=Redacted&x=Redacted")]
    [InlineData("?code=test-host-key", "?code=Redacted")]
    [InlineData("", "")]
    public void Query_values_are_redacted_and_keys_kept(string query, string expected) =>
        Assert.Equal(expected, TelemetryRedaction.Query(query));

    [Theory]
    [InlineData("/api/referrals/R-ABCDE-FGHJK", "/api/referrals/R-ABCDE-FGHJK")]
    [InlineData("/api/links/test.eyJhYmMiOiJkZWYifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU/open", "/api/links/Redacted/open")]
    public void Path_segments_that_look_like_tokens_are_redacted(string path, string expected) =>
        Assert.Equal(expected, TelemetryRedaction.Path(path));

    /// <summary>Everything a span exports as text: its name, tags, events and links' trace state.</summary>
    private static string Text(Activity span) =>
        string.Join('\n', new[] { span.DisplayName, span.OperationName, span.TraceStateString ?? "", span.StatusDescription ?? "" }
            .Concat(span.TagObjects.Select(t => $"{t.Key}={t.Value}"))
            .Concat(span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={t.Value}")))
            .Concat(span.Baggage.Select(b => $"{b.Key}={b.Value}")));

    [GeneratedRegex(@"http\S+/api/specialist/respond\?t=\S+")]
    private static partial Regex RespondLink();
}
