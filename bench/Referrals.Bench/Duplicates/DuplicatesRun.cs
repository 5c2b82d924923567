using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Duplicates;

/// <summary>
/// Issue 9's unknown-outcome duplicates, black box: Azurite (disk) and the Release DevHost as separate processes, a
/// SendGrid stand-in that hangs a share of requests past the app's attempt timeout (accepting them all the same),
/// and, with the webhook on, a signed "processed" event for every accepted request a few seconds later. It counts the
/// emails SendGrid accepted more than once. See bench/README.md.
/// </summary>
internal static class DuplicatesRun
{
    private static readonly TimeSpan AzuriteStartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DevHostStartTimeout = TimeSpan.FromSeconds(90);
    private static readonly RunProgress Run = new();
    private static Stopwatch Clock => Run.Clock;

    public static Task<int> RunAsync(string[] args) =>
        BenchHarness.RunAsync(
            "referrals-bench-dups-",
            () => DuplicatesOptions.Parse(args),
            options => (options.Keep, options.TimeLimit),
            async (options, environment, runId, work, cancellationToken) => DuplicatesReport.Print(await MeasureAsync(environment, options, runId, work, cancellationToken), Console.Out),
            () => Run.CurrentStep,
            Clock);

    private static async Task<DuplicatesResults> MeasureAsync(BenchEnvironment environment, DuplicatesOptions options, string runId, string work, CancellationToken cancellationToken)
    {
        Clock.Restart();
        var startedAt = TimeProvider.System.GetUtcNow();
        var load = BenchEnvironment.LoadAverage();
        Progress($"work folder {work}; load average {load}");

        Step("starting Azurite");
        await using var azurite = await AzuriteServer.StartAsync(environment.AzuriteExecutable, work, AzuriteStartTimeout, cancellationToken);

        Step("starting the SendGrid stand-in and the DevHost");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        WebhookPoster? webhook = null;
        // The DevHost needs the stand-in's address and the poster needs the DevHost's: the poster is set before the first referral.
        await using var sendGrid = await HangingSendGrid.StartAsync(options.Hang, options.AttemptTimeout, (request, recipient) => webhook?.Schedule(request, recipient), cancellationToken);
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["DevHost:Azurite:AutoStart"] = "false",
            ["Email:SendGridHost"] = sendGrid.Url,
            ["Email:Resilience:AttemptTimeout"] = options.AttemptTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Email:UnknownOutcomeGrace"] = options.Grace.ToString("c", CultureInfo.InvariantCulture),
            ["Routing:MaxOpenOffers"] = "500",
            ["Intake:RateLimitPerHour"] = "10000",
            ["Intake:SubmissionsPerEmailPerDay"] = "1000",
            // The bench is the visitors' proxy: it names each visitor's address in X-Forwarded-For.
            ["Intake:TrustedProxies:0"] = "127.0.0.1",
            ["Intake:ClientAddressHeader"] = ReferralPoster.ForwardedHeader,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (options.Webhook)
        {
            // Without the key the app has no webhook: it sends an unknown outcome again at once, whatever the grace says.
            settings["Email:EventWebhookPublicKey"] = WebhookPoster.PublicKeyOf(key);
        }

        await using var devHost = await DevHostServer.StartAsync(environment.DevHostDll, settings, work, DevHostStartTimeout, cancellationToken);
        Progress($"DevHost (pid {devHost.ProcessId}) answers at {devHost.BaseAddress}; SendGrid stand-in at {sendGrid.Url}");
        using var poster = options.Webhook ? new WebhookPoster(key, devHost.BaseAddress, options.WebhookDelayMin, options.WebhookDelayMax, cancellationToken) : null;
        webhook = poster;

        using var referrals = new ReferralPoster(devHost.BaseAddress, runId, oneClient: false);
        Step($"posting {options.Referrals} referrals at concurrency {options.Concurrency}");
        var results = new Posted[options.Referrals];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < results.Length; i = Interlocked.Increment(ref next))
            {
                results[i] = await referrals.PostAsync("dups", 9, i, "NY", "iv-ketamine-infusion", cancellationToken);
            }
        }, cancellationToken)));
        var accepted = results.Where(r => r.Status == HttpStatusCode.Accepted && r.Reference is not null).Select(r => r.Reference!).ToList();
        var refused = results.Length - accepted.Count;
        Step($"posts answered ({accepted.Count} accepted, {refused} not); waiting for 2 emails per referral");
        if (accepted.Count == 0)
        {
            throw new BenchFailure("No referral was accepted: " + string.Join(", ", results.GroupBy(r => r.Status).Select(g => $"{g.Count()} × {(int)g.Key}")));
        }

        await WaitForEmailsAsync(sendGrid, accepted, options.DrainTimeout, devHost, cancellationToken);
        var done = Stopwatch.GetTimestamp();

        // Resends come after the grace (or the queue's visibility timeout): the count is final only once the stand-in has been quiet that long.
        Step($"every referral has 2 emails; waiting until the stand-in has had no request for {options.Quiet.TotalSeconds:F0} s");
        while (Stopwatch.GetElapsedTime(Math.Max(done, sendGrid.LastAt)) < options.Quiet)
        {
            await Task.Delay(500, cancellationToken);
        }

        if (poster is not null)
        {
            await poster.DrainAsync();
        }

        if (devHost.HasExited)
        {
            throw new BenchFailure("The DevHost exited during the run. Its output:\n" + devHost.Tail());
        }

        return new DuplicatesResults(
            startedAt,
            BenchEnvironment.Machine(),
            load,
            BenchEnvironment.LoadAverage(),
            environment.AppCommit(),
            options,
            accepted.Count,
            sendGrid.Accepted(),
            sendGrid.Unreadable,
            poster?.Posted ?? 0,
            poster?.Refused ?? 0,
            poster?.Failed ?? 0,
            Clock.Elapsed);
    }

    private static async Task WaitForEmailsAsync(HangingSendGrid sendGrid, IReadOnlyList<string> references, TimeSpan timeout, DevHostServer devHost, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        while (true)
        {
            var perReferral = sendGrid.EmailsPerReferral();
            var missing = references.Where(r => perReferral.GetValueOrDefault(r) < 2).ToList();
            if (missing.Count == 0)
            {
                return;
            }

            if (clock.Elapsed > timeout || devHost.HasExited)
            {
                var sample = string.Join(", ", missing.Take(5).Select(r => $"{r} ({perReferral.GetValueOrDefault(r)} of 2)"));
                throw new BenchFailure($"{missing.Count} of {references.Count} referrals did not get 2 emails at the SendGrid stand-in within {timeout.TotalSeconds:F0} s"
                    + (devHost.HasExited ? " (the DevHost exited)" : "") + $", e.g. {sample}.");
            }

            if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(10))
            {
                lastReport = clock.Elapsed;
                var requests = sendGrid.Accepted();
                Progress($"{references.Count - missing.Count} of {references.Count} referrals have 2 emails; {requests.Count} requests accepted, {requests.Count(a => a.Hung)} hung");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private static void Progress(string message) => Run.Write(message);

    private static void Step(string message) => Run.Step(message);

}
