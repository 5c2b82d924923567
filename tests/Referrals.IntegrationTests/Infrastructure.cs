using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Referrals.DevHost;
using Referrals.DevHost.Functions;
using Referrals.DevHost.MailSink;
using Referrals.DevHost.Storage;
using Referrals.Functions.Intake;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>A real Azurite on free ports with its own temporary data folder, stopped and removed afterwards.</summary>
public sealed class AzuriteInstance : IAsyncDisposable
{
    private readonly AzuriteProcess process;
    private readonly string dataFolder;

    private AzuriteInstance(AzuriteProcess process, string dataFolder)
    {
        this.process = process;
        this.dataFolder = dataFolder;
    }

    public string ConnectionString => process.Endpoints.ConnectionString;

    public static async Task<AzuriteInstance> StartAsync()
    {
        var executable = AzuriteProcess.FindExecutable(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("Azurite is not installed: run 'npm ci' at the repository root.");
        var folder = Path.Combine(Path.GetTempPath(), "referrals-azurite-" + Guid.NewGuid().ToString("N"));
        // Disk mode: in-memory Azurite freezes under message churn (shared/docs/azurite-notes.md).
        var process = await AzuriteProcess.StartAsync(executable, new StorageEndpoints(FreePort.Next(), FreePort.Next(), FreePort.Next()), folder);
        return new AzuriteInstance(process, folder);
    }

    public async ValueTask DisposeAsync()
    {
        await process.DisposeAsync();
        try
        {
            Directory.Delete(dataFolder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the exiting process; the OS cleans temp folders eventually.
        }
    }
}

public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Keys the test DevHost is configured with.</summary>
public static class TestKeys
{
    public const string Master = "test-master-key";
    public const string Host = "test-host-key";
    public const string QueueHealthFunction = "test-queue-health-key";
    public const string SendGrid = "SG.test-key";
    public const string SigningKeyId = "test";
    public const string SigningSecret = "integration-test-secret-key-0123456789";
}

/// <summary>
/// The operators' view of a referral (its inner status, history and routing decisions). Tests watch the pipeline
/// through it: the public status resource holds only a coarse word and dates.
/// </summary>
public static class OpsApi
{
    public static string Referral(string id) => $"/api/ops/referrals/{id}/routing?code={TestKeys.Host}";
}

/// <summary>One Azurite and one DevHost running the real Functions app, shared by the tests of a collection.</summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    public const string BlogOrigin = "https://blog.clinic.test";

    /// <summary>Stands in for SendGrid's Event Webhook signing key; the app is given its public half.</summary>
    public static readonly System.Security.Cryptography.ECDsa WebhookKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
    public static readonly TimeSpan MinimumFillTime = TimeSpan.FromMilliseconds(500);

    public AzuriteInstance Azurite { get; private set; } = null!;
    public DevHostApp Host { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public FakeLogCollector Logs => Host.Services.GetRequiredService<FakeLogCollector>();

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        Host = await StartHostAsync(Azurite);
        // Each request comes from its own client address unless a test sets one, so the per-client rate limit
        // only bites in the test about it.
        Http = new HttpClient(new DistinctClientHandler { InnerHandler = new HttpClientHandler { AllowAutoRedirect = false } }) { BaseAddress = Host.BaseAddress };
    }

    /// <summary>
    /// The sample directory with room for every test's referrals this week: the tests share one Azurite, and the
    /// sample's real capacities would send later tests to triage. Capacity itself is tested on its own directory.
    /// </summary>
    private static readonly Lazy<string> RoomyDirectory = new(() =>
    {
        var lines = File.ReadAllLines(Path.Combine(FunctionsApp.BuiltDirectory!, "data", "specialists.csv"));
        var capacityColumn = Array.IndexOf(lines[0].Split(','), "weekly_capacity");
        var path = Path.Combine(Path.GetTempPath(), $"referrals-specialists-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, lines.Select((line, i) =>
        {
            if (i == 0) return line;
            var cells = line.Split(',');
            cells[capacityColumn] = "500";
            return string.Join(',', cells);
        }));
        return path;
    });

    /// <summary>Waits out the form's minimum fill time from when it was rendered, as a person would.</summary>
    public static async Task AfterMinimumFillTimeAsync(DateTimeOffset renderedAt)
    {
        var wait = renderedAt + MinimumFillTime + TimeSpan.FromMilliseconds(50) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }

    /// <summary>
    /// The reconciler of <paramref name="host"/>, seeing the time as <paramref name="clock"/> says: a FakeTimeProvider
    /// set past ReconcileAfter makes it look at the referrals just left Received, without waiting for its timer.
    /// </summary>
    public static ReconcileReceived Reconciler(DevHostApp host, TimeProvider clock) => new(
        host.Services.GetRequiredKeyedService<Azure.Data.Tables.TableClient>(StorageNames.ReferralsTable),
        host.Services.GetRequiredService<PipelineQueues>(),
        host.Services.GetRequiredService<IntakeService>(),
        host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<IntakeOptions>>(),
        clock,
        Microsoft.Extensions.Logging.Abstractions.NullLogger<ReconcileReceived>.Instance);

    /// <summary>A clock just past the reconciler's ReconcileAfter (default two minutes) from now.</summary>
    public static Microsoft.Extensions.Time.Testing.FakeTimeProvider PastReconcileAfter() => new(DateTimeOffset.UtcNow.AddMinutes(3));

    /// <summary>A DevHost running the real app against <paramref name="azurite"/>; tests may swap services.</summary>
    public static Task<DevHostApp> StartHostAsync(AzuriteInstance azurite, Action<IServiceCollection>? configureServices = null, IReadOnlyDictionary<string, string?>? extraSettings = null) =>
        DevHostApp.StartAsync([], Settings(azurite).Concat(extraSettings ?? new Dictionary<string, string?>()).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value), services =>
        {
            services.AddFakeLogging();
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider, SuiteLogGuard>();
            configureServices?.Invoke(services);
        });

    /// <summary>The test DevHost's settings (a fresh port each time), also for a DevHost run as its own process.</summary>
    public static Dictionary<string, string?> Settings(AzuriteInstance azurite) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["DevHost:Port"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DevHost:Azurite:AutoStart"] = "false",
        ["DevHost:ShutdownGrace"] = "00:00:05",
        // Local runs' fast queue values over host.json's production ones, through the host's own override keys.
        ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:02",
        ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:05",
        ["DevHost:Keys:Master"] = TestKeys.Master,
        ["DevHost:Keys:Host:default"] = TestKeys.Host,
        ["DevHost:Keys:Functions:GetQueueHealth:default"] = TestKeys.QueueHealthFunction,
        // The audit names an operator by their key's fingerprint; the function key above stays unnamed.
        ["Operators:KeyFingerprints:ops-test"] = Referrals.Functions.Operations.Audit.OperatorIdentity.Fingerprint(TestKeys.Host),
        ["Email:SendGridApiKey"] = TestKeys.SendGrid,
        ["Email:FromAddress"] = "referrals@clinic.test",
        ["Email:FromName"] = "Clinic referrals",
        ["Email:TriageAddress"] = "triage@clinic.test",
        // Held-back messages (a specialist's answer, an operator's action, the SLA monitor) come back within the tests,
        // so those tests also run with the held-back message racing the usual one (BackstopTests make it the only one).
        ["Email:BackstopAfter"] = "00:00:02",
        ["Routing:OperatorsAddress"] = "operators@clinic.test",
        // Tests across the shared host each expect their own operator alert at once; the quiet period has AlertTests.
        ["Alerts:QuietPeriod"] = "00:00:00",
        ["Routing:MaxUnanswered"] = "2",
        // Tests share the specialists and leave many offers unanswered; the bound is tested on its own directory.
        ["Routing:MaxOpenOffers"] = "500",
        ["Directory:SpecialistsFile"] = RoomyDirectory.Value,
        ["Security:ActiveKeyId"] = TestKeys.SigningKeyId,
        [$"Security:Keys:{TestKeys.SigningKeyId}"] = TestKeys.SigningSecret,
        ["Intake:MinimumFillTime"] = MinimumFillTime.ToString(),
        ["Intake:AllowedOrigins:0"] = BlogOrigin,
        // The test client stands in for a front door on loopback: the X-Forwarded-For it sends names the client.
        ["Intake:TrustedProxies:0"] = "127.0.0.1",
        ["Intake:TrustedProxies:1"] = "::1",
        ["Email:EventWebhookPublicKey"] = Convert.ToBase64String(WebhookKey.ExportSubjectPublicKeyInfo()),
    };

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "pipeline";
}

/// <summary>
/// Gives each request a client of its own (a distinct IPv6 /64) in X-Forwarded-For unless the test set one. Not to the
/// mail viewer: it answers loopback clients only, and a forwarded address says the request is relayed for someone else.
/// </summary>
public sealed class DistinctClientHandler : DelegatingHandler
{
    private static int next;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Headers.Contains("X-Forwarded-For") && request.RequestUri?.AbsolutePath.StartsWith(MailSinkEndpoints.ViewerPath, StringComparison.OrdinalIgnoreCase) != true)
        {
            var n = Interlocked.Increment(ref next);
            // Documentation prefix: a label, never dialled. Rate limits group IPv6 by /64, so each client gets its own.
            request.Headers.Add("X-Forwarded-For", $"2001:db8:{n >> 16:x}:{n & 0xffff:x}::1");
        }

        return base.SendAsync(request, cancellationToken);
    }
}

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (condition(value))
            {
                return value;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}; last value: {value}");
            }

            await Task.Delay(100);
        }
    }
}

public static class QueueMessages
{
    /// <summary>
    /// Waits until a listener has dequeued this one message. Its pop receipt changes when it is dequeued, so an update
    /// with the receipt we hold fails from then on; an update that succeeds hands back the next receipt and leaves the message visible.
    /// </summary>
    public static async Task UntilTakenAsync(Azure.Storage.Queues.QueueClient queue, Azure.Storage.Queues.Models.SendReceipt sent, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        var popReceipt = sent.PopReceipt;
        while (true)
        {
            try
            {
                popReceipt = (await queue.UpdateMessageAsync(sent.MessageId, popReceipt, visibilityTimeout: TimeSpan.Zero)).Value.PopReceipt;
            }
            catch (Azure.RequestFailedException e) when (e.Status is 400 or 404)
            {
                return;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for a listener to take {what}");
            }

            await Task.Delay(100);
        }
    }
}
