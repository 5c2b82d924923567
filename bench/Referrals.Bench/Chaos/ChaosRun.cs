using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Referrals.Bench.Duplicates;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Chaos;

/// <summary>
/// Issue 12's evidence that nothing is lost, black box: Azurite (disk) and the Release DevHost as separate processes, a
/// burst of referrals from visitors who retry with the same Idempotency-Key, the DevHost killed with SIGKILL and
/// Azurite restarted (data kept) at random moments meanwhile, and a SendGrid stand-in with 5xx, hangs and 429 bursts,
/// whose Event Webhook reports every accepted send. It ends with a verdict table; see bench/README.md.
/// </summary>
internal static class ChaosRun
{
    private static readonly TimeSpan AzuriteStartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DevHostStartTimeout = TimeSpan.FromSeconds(90);
    private static readonly RunProgress Run = new();
    private static Stopwatch Clock => Run.Clock;

    public static Task<int> RunAsync(string[] args) =>
        BenchHarness.RunAsync(
            "referrals-bench-chaos-",
            () => ChaosOptions.Parse(args),
            options => (options.Keep, options.TimeLimit),
            async (options, environment, runId, work, cancellationToken) =>
            {
                var verdict = await MeasureAsync(environment, options, runId, work, cancellationToken);
                ChaosReport.Print(verdict, Console.Out);
                if (verdict.Failures() is { Count: > 0 } failures)
                {
                    throw new BenchFailure("the verdict failed: " + string.Join("; ", failures));
                }
            },
            () => Run.CurrentStep,
            Clock);

    private static async Task<ChaosVerdict> MeasureAsync(BenchEnvironment environment, ChaosOptions options, string runId, string work, CancellationToken cancellationToken)
    {
        Clock.Restart();
        var startedAt = TimeProvider.System.GetUtcNow();
        var load = BenchEnvironment.LoadAverage();
        // Read now: the run is long, and the working tree may move on while it runs.
        var commit = environment.AppCommit();
        Progress($"{options.Describe()}; work folder {work}; load average {load}");

        Step("starting Azurite (disk mode)");
        await using var azurite = await AzuriteServer.StartAsync(environment.AzuriteExecutable, work, AzuriteStartTimeout, cancellationToken, requestLog: false);

        Step("starting the SendGrid stand-in and the DevHost");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        WebhookPoster? webhook = null;
        await using var sendGrid = await ChaosSendGrid.StartAsync(options, (request, recipient) => webhook?.Schedule(request, recipient), cancellationToken);
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["DevHost:Azurite:AutoStart"] = "false",
            ["DevHost:MessageLease"] = options.Lease.ToString("c", CultureInfo.InvariantCulture),
            ["Email:SendGridHost"] = sendGrid.Url,
            ["Email:Resilience:AttemptTimeout"] = options.AttemptTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Email:UnknownOutcomeGrace"] = options.Grace.ToString("c", CultureInfo.InvariantCulture),
            ["Email:EventWebhookPublicKey"] = WebhookPoster.PublicKeyOf(key),
            ["Routing:MaxOpenOffers"] = "500",
            ["Intake:RateLimitPerHour"] = "10000",
            ["Intake:SubmissionsPerEmailPerDay"] = "1000",
            ["Intake:TrustedProxies:0"] = "127.0.0.1",
            ["Intake:ClientAddressHeader"] = ReferralPoster.ForwardedHeader,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (options.ClaimTimeout is { } claimTimeout)
        {
            settings["Email:ClaimTimeout"] = claimTimeout.ToString("c", CultureInfo.InvariantCulture);
        }

        if (options.ReconcileAfter is { } reconcileAfter)
        {
            settings["Intake:ReconcileAfter"] = reconcileAfter.ToString("c", CultureInfo.InvariantCulture);
        }

        var host = new RestartingDevHost(environment.DevHostDll, settings, work, DevHostStartTimeout);
        await using var _ = host;
        await host.StartAsync(cancellationToken);
        Progress($"DevHost (pid {host.ProcessId}) answers at {host.BaseAddress}; SendGrid stand-in at {sendGrid.Url}");
        // SendGrid retries a webhook post that failed; a killed DevHost must not cost an event.
        using var poster = new WebhookPoster(key, host.BaseAddress, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5), cancellationToken, retryFor: TimeSpan.FromMinutes(5));
        webhook = poster;

        var state = new ChaosState(azurite.ConnectionString);
        using var visitors = new ChaosVisitors(host.BaseAddress, runId, giveUpAfter: TimeSpan.FromMinutes(5));
        Step($"posting {options.Referrals} referrals at concurrency {options.Concurrency} while faults run");
        var submitting = visitors.SubmitAsync(options.Referrals, options.Concurrency, cancellationToken);
        var faults = new FaultSchedule(options, host, azurite, Progress);
        var faulting = faults.RunAsync(cancellationToken);
        using var progressStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = ReportProgressAsync(visitors, sendGrid, state, faults, options, progressStop.Token);

        var submissions = await submitting;
        var lastAnsweredAt = Stopwatch.GetTimestamp();
        Progress($"every visitor has an answer: {submissions.Count(s => s.Reference is not null)} accepted");
        await faulting;
        var lastFaultAt = faults.LastFaultEndedAt;
        Step("faults done; waiting until every accepted referral has its emails or is parked, every parked one is alerted, "
            + "and every referral a dead request left behind is reconciled");
        var accepted = submissions.Where(s => s.Reference is not null).Select(s => s.Reference!).ToList();
        var drainedAt = await WaitForDrainAsync(accepted, sendGrid, state, host, options, cancellationToken);
        var drainTime = Stopwatch.GetElapsedTime(lastFaultAt, drainedAt);
        var drainAfterBurst = Stopwatch.GetElapsedTime(Math.Max(lastFaultAt, lastAnsweredAt), drainedAt);

        Step($"drained; waiting until the stand-in has had no request for {options.Quiet.TotalSeconds:F0} s, so every resend is counted");
        while (Stopwatch.GetElapsedTime(Math.Max(drainedAt, sendGrid.LastAt)) < options.Quiet)
        {
            await Task.Delay(500, cancellationToken);
        }

        await poster.DrainAsync();
        await progressStop.CancelAsync();
        await progress;

        Step("reading the final state");
        var final = await state.ReadFinalAsync(cancellationToken);
        return new ChaosVerdict(
            startedAt,
            BenchEnvironment.Machine(),
            load,
            BenchEnvironment.LoadAverage(),
            commit,
            environment.AzuriteVersion(),
            options,
            submissions,
            sendGrid.Requests(),
            sendGrid.Bursts(),
            final,
            faults.Kills,
            faults.AzuriteRestarts,
            faults.UngracefulAzuriteStops,
            drainTime,
            drainAfterBurst,
            PoisonReasons.Read(work),
            poster.Posted,
            poster.Failed + poster.Refused,
            Clock.Elapsed);
    }

    private static async Task<long> WaitForDrainAsync(
        IReadOnlyList<string> accepted, ChaosSendGrid sendGrid, ChaosState state, RestartingDevHost host, ChaosOptions options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var answered = accepted.ToHashSet();
        while (true)
        {
            var parked = await state.ParkedAsync(cancellationToken);
            var requests = sendGrid.Requests();
            var emails = ChaosVerdict.EmailsByReferral(requests);
            var waiting = accepted.Where(r => !ChaosVerdict.HasItsEmails(emails, r) && !parked.ContainsKey(r)).ToList();
            var now = TimeProvider.System.GetUtcNow();
            var alertsDue = parked.Where(p => ChaosVerdict.PoisonAlertAt(requests, p.Key) is null && now - p.Value < ChaosVerdict.PoisonAlertGoal).ToList();
            // Orphans are read only once the rest has drained: the query scans the table.
            var orphans = waiting.Count == 0 && alertsDue.Count == 0 ? await state.UnansweredReceivedAsync(answered, cancellationToken) : null;
            if (orphans == 0)
            {
                return Stopwatch.GetTimestamp();
            }

            if (clock.Elapsed > options.DrainTimeout)
            {
                // Not a bench failure: the verdict names what is missing, and the run fails on it.
                Progress($"drain timeout: {waiting.Count} referrals still without their emails, {alertsDue.Count} parked without an alert, "
                    + $"{orphans?.ToString(CultureInfo.InvariantCulture) ?? "?"} unanswered referrals not yet reconciled");
                return Stopwatch.GetTimestamp();
            }

            if (host.HasExited)
            {
                throw new BenchFailure("The DevHost exited on its own while draining. Its output:\n" + host.Tail());
            }

            await Task.Delay(1000, cancellationToken);
        }
    }

    private static async Task ReportProgressAsync(ChaosVisitors visitors, ChaosSendGrid sendGrid, ChaosState state, FaultSchedule faults, ChaosOptions options, CancellationToken stop)
    {
        var every = options.Smoke ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(10);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var requests = sendGrid.Requests();
            var emails = ChaosVerdict.EmailsByReferral(requests);
            var routed = emails.Count(e => e.Value.Overlaps(ChaosVerdict.RoutingKinds));
            var notified = emails.Keys.Count(r => ChaosVerdict.HasItsEmails(emails, r));
            var parked = await state.ParkedCountAsync(stop);
            Progress($"submitted {visitors.Answered}/{options.Referrals} ({visitors.Posts} POSTs), accepted {visitors.Accepted}, routed {routed}, notified {notified}, "
                + $"in poison {parked?.ToString(CultureInfo.InvariantCulture) ?? "?"}, kills {faults.Kills}/{options.Kills}, Azurite restarts {faults.AzuriteRestarts}/{options.AzuriteRestarts}, "
                + $"SendGrid requests {requests.Count} ({requests.Count(r => r.Early)} early)");
        }
    }

    private static void Progress(string message) => Run.Write(message);

    private static void Step(string message) => Run.Step(message);
}
