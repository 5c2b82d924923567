using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// The issue 9 figures in one run, black box: Azurite (disk mode, request log on) and the Release DevHost as separate
/// processes, SendGrid faked at its HTTP boundary in this process. Steps: Azurite's referral-round rate; sequential
/// referrals for storage requests per referral and idle latency; a small and a large burst for intake latency,
/// end-to-end throughput, queue depth and memory. See bench/README.md.
/// </summary>
internal static class PipelineRun
{
    private const string TriageAddress = "triage@clinic.test";
    private const string OperatorsAddress = "operators@clinic.test";
    private const string VisitorDomain = "@example.com";

    // The largest Routing:MaxOpenOffers its validation allows ([Range(1, 500)]), so routing is bounded only by weekly capacity.
    private const int MaxOpenOffers = 500;

    private static readonly TimeSpan AzuriteStartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DevHostStartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan WarmUpTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SequentialTimeout = TimeSpan.FromSeconds(30);

    // Message deletes and ledger writes follow the last email.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    // Azurite's request log lags its answers, by a minute or more after a burst.
    private static readonly TimeSpan LogCatchUpTimeout = TimeSpan.FromSeconds(180);

    private static readonly RunProgress Run = new();
    private static Stopwatch Clock => Run.Clock;

    public static Task<int> RunAsync(string[] args) =>
        BenchHarness.RunAsync(
            "referrals-bench-",
            () => PipelineOptions.Parse(args),
            options => (options.Keep, options.TimeLimit),
            async (options, environment, runId, work, cancellationToken) => Report.Print(await MeasureAsync(environment, options, runId, work, cancellationToken), Console.Out),
            () => Run.CurrentStep,
            Clock);

    private static async Task<PipelineResults> MeasureAsync(BenchEnvironment environment, PipelineOptions options, string runId, string work, CancellationToken cancellationToken)
    {
        Clock.Restart();
        var startedAt = TimeProvider.System.GetUtcNow();
        var load = BenchEnvironment.LoadAverage();
        Progress($"work folder {work}; load average {load}");
        if (BenchEnvironment.LoadPerCore() is > 2)
        {
            Progress("warning: the machine is busy (more than 2 runnable tasks per core): every figure will be lower than on a quiet machine, and the run may take up to 12 minutes.");
        }

        Step("starting Azurite");

        await using var azurite = await AzuriteServer.StartAsync(environment.AzuriteExecutable, work, AzuriteStartTimeout, cancellationToken);
        var log = new AzuriteRequestLog(azurite.DebugLogPath, azurite.ConnectionString);
        Progress($"Azurite {environment.AzuriteVersion()} answers on queue port {azurite.QueuePort}, table port {azurite.TablePort}");

        // 1. Azurite's own ceiling, before the DevHost runs, so nothing else competes for it.
        var round = new ReferralRound(azurite.ConnectionString);
        Step("Azurite's referral round at concurrency 8 and 32 (12 s each)");
        var rounds8 = await round.RoundsPerSecondAsync(8, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), cancellationToken);
        Progress($"referral round, concurrency 8: {rounds8:F1} rounds/s");
        var rounds32 = await round.RoundsPerSecondAsync(32, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), cancellationToken);
        Progress($"referral round, concurrency 32: {rounds32:F1} rounds/s");

        Step("starting the SendGrid stand-in and the DevHost");
        using var sendGrid = new SendGridStandIn();
        await using var devHost = await DevHostServer.StartAsync(environment.DevHostDll, new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["DevHost:Azurite:AutoStart"] = "false",
            ["Email:SendGridHost"] = sendGrid.Url,
            ["Email:TriageAddress"] = TriageAddress,
            ["Routing:OperatorsAddress"] = OperatorsAddress,
            ["Routing:MaxOpenOffers"] = MaxOpenOffers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // With --one-client, one client posts every referral; each has its own email address.
            ["Intake:RateLimitPerHour"] = "10000",
            ["Intake:SubmissionsPerEmailPerDay"] = "1000",
            // The bench is the visitors' proxy: it names each visitor's address in X-Forwarded-For.
            ["Intake:TrustedProxies:0"] = "127.0.0.1",
            ["Intake:ClientAddressHeader"] = ReferralPoster.ForwardedHeader,
            // Console logging of every invocation would measure the terminal, not the pipeline.
            ["Logging:LogLevel:Default"] = "Warning",
        }, work, DevHostStartTimeout, cancellationToken);
        await using var rss = new RssSampler(devHost.ProcessId);
        Progress($"DevHost (pid {devHost.ProcessId}) answers at {devHost.BaseAddress}");

        using var poster = new ReferralPoster(devHost.BaseAddress, runId, options.OneClient);

        Step("a warm-up referral");
        // A first referral pays for JIT and connection set-up; it goes to triage (no specialist in AK) so it takes no capacity.
        var warmUp = await PostAcceptedAsync(poster, "warmup", 0, 0, "AK", "consultation", cancellationToken);
        await sendGrid.WaitForAsync([warmUp.Reference!], 2, WarmUpTimeout, TimeSpan.FromMilliseconds(20), "warm-up referral", null, cancellationToken);
        await Task.Delay(Settle, cancellationToken);

        // 2 and 3. One at a time, each waiting for both its emails.
        Step($"{options.Sequential} sequential referrals");
        var from = await log.MarkAsync(LogCatchUpTimeout, cancellationToken);
        var sequential = new List<Posted>();
        var endToEnd = new List<TimeSpan>();
        for (var i = 0; i < options.Sequential; i++)
        {
            var posted = await PostAcceptedAsync(poster, "seq", 1, i, "NY", "iv-ketamine-infusion", cancellationToken);
            await sendGrid.WaitForAsync([posted.Reference!], 2, SequentialTimeout, TimeSpan.FromMilliseconds(5), $"sequential referral {i + 1} of {options.Sequential}", null, cancellationToken);
            sequential.Add(posted);
            endToEnd.Add(Stopwatch.GetElapsedTime(posted.Started, sendGrid.NthRecipientAt(posted.Reference!, 2)));
        }

        await Task.Delay(Settle, cancellationToken);
        var sequentialRequests = log.Count(from, await log.MarkAsync(LogCatchUpTimeout, cancellationToken));
        var sequentialResult = new SequentialResult(options.Sequential, sequentialRequests, Split(sendGrid, sequential), endToEnd);
        Progress($"{options.Sequential} sequential referrals: {(double)sequentialRequests.Total / options.Sequential:F1} storage requests each "
            + $"({(double)(sequentialRequests.Total - sequentialRequests.Receives) / options.Sequential:F1} without queue receives); "
            + $"end to end p50 {Percentiles.Of(endToEnd, 50).TotalMilliseconds:F0} ms");

        // 4. Bursts: the small one first, so whether throughput stays flat as the burst grows is visible.
        await using var depth = new QueueDepthSampler(azurite.ConnectionString);
        BurstResult? small = null;
        if (options.SmallBurst > 0)
        {
            small = await BurstAsync("small", 2, options.SmallBurst, options, poster, sendGrid, depth, log, devHost, cancellationToken);
        }

        var burst = await BurstAsync("burst", 3, options.Burst, options, poster, sendGrid, depth, log, devHost, cancellationToken);
        var highWater = rss.HighWaterMiB;

        return new PipelineResults(
            startedAt,
            BenchEnvironment.Machine(),
            load,
            environment.AzuriteVersion(),
            RuntimeInformation.FrameworkDescription,
            environment.AppCommit(),
            options,
            rounds8,
            rounds32,
            sequentialResult,
            small,
            burst,
            rss.PeakMiB,
            highWater,
            sendGrid.RequestsPerRecipient(),
            VisitorDomain,
            Clock.Elapsed);
    }

    private static async Task<BurstResult> BurstAsync(
        string phase, int phaseCode, int count, PipelineOptions options, ReferralPoster poster, SendGridStandIn sendGrid, QueueDepthSampler depth,
        AzuriteRequestLog log, DevHostServer devHost, CancellationToken cancellationToken)
    {
        Step($"{phase}: posting {count} referrals at concurrency {options.Concurrency}");
        depth.Reset();
        var from = await log.MarkAsync(LogCatchUpTimeout, cancellationToken);
        var results = new Posted[count];
        var next = -1;
        var posters = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                results[i] = await poster.PostAsync(phase, phaseCode, i, "NY", "iv-ketamine-infusion", cancellationToken);
            }
        }, cancellationToken));
        await Task.WhenAll(posters);

        var accepted = results.Where(r => r.Reference is not null).ToList();
        var refused = results.Where(r => r.Reference is null).GroupBy(r => r.Status == 0 ? "connection failed" : $"{(int)r.Status} {r.Status}")
            .ToDictionary(g => g.Key, g => g.Count());
        var first = results.Min(r => r.Started);
        Step($"{phase}: posts answered after {Stopwatch.GetElapsedTime(first).TotalSeconds:F1} s ({accepted.Count} accepted"
            + (refused.Count > 0 ? ", refused: " + string.Join(", ", refused.Select(r => $"{r.Value} × {r.Key}")) : "") + "); waiting for the emails");
        if (accepted.Count == 0)
        {
            throw new BenchFailure($"{phase}: no referral was accepted ({string.Join(", ", refused.Select(r => $"{r.Value} × {r.Key}"))}).");
        }

        var references = accepted.Select(r => r.Reference!).ToList();
        await sendGrid.WaitForAsync(references, 2, options.DrainTimeout, TimeSpan.FromMilliseconds(200), $"{phase} of {count}",
            (done, all) => Progress($"{phase}: {done} of {all} referrals have both emails; queue depth {depth.Last}"
                + (devHost.HasExited ? "; the DevHost has EXITED" : "")),
            cancellationToken);
        var last = references.Max(r => sendGrid.NthRecipientAt(r, 2));
        var maxDepth = depth.Max;
        await Task.Delay(Settle, cancellationToken);
        var requests = log.Count(from, await log.MarkAsync(LogCatchUpTimeout, cancellationToken));
        var result = new BurstResult(count, options.Concurrency, accepted.Count, refused, results.Select(r => r.Latency).ToList(),
            Stopwatch.GetElapsedTime(first, last), maxDepth, Split(sendGrid, accepted), requests);
        Progress($"{phase}: {result.ReferralsPerSecond:F1} referrals/s end to end; intake p99 {Percentiles.Of(result.IntakeLatencies, 99).TotalMilliseconds:F0} ms; "
            + $"max queue depth {maxDepth}");
        return result;
    }

    private static async Task<Posted> PostAcceptedAsync(ReferralPoster poster, string phase, int phaseCode, int index, string state, string treatment, CancellationToken cancellationToken)
    {
        var posted = await poster.PostAsync(phase, phaseCode, index, state, treatment, cancellationToken);
        return posted.Status == HttpStatusCode.Accepted && posted.Reference is not null
            ? posted
            : throw new BenchFailure($"{phase} referral {index + 1}: POST /api/referrals answered {(int)posted.Status} {posted.Status}, not 202 with a reference.");
    }

    /// <summary>Specialist or triage, from who besides the visitor was emailed about each referral.</summary>
    private static RoutingSplit Split(SendGridStandIn sendGrid, IEnumerable<Posted> referrals)
    {
        int specialist = 0, triage = 0;
        foreach (var referral in referrals)
        {
            var recipients = sendGrid.For(referral.Reference!).Select(e => e.Recipient).ToList();
            if (recipients.Contains(TriageAddress, StringComparer.OrdinalIgnoreCase))
            {
                triage++;
            }
            else if (recipients.Any(r => !r.Equals(referral.Email, StringComparison.OrdinalIgnoreCase) && !r.Equals(OperatorsAddress, StringComparison.OrdinalIgnoreCase)))
            {
                specialist++;
            }
        }

        return new RoutingSplit(specialist, triage);
    }

    private static void Progress(string message) => Run.Write(message);

    /// <summary>Names what the run is doing now, for the time limit's message, and prints it.</summary>
    private static void Step(string message) => Run.Step(message);

}
