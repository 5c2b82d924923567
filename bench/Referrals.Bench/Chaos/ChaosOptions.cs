using System.Globalization;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Chaos;

/// <summary>The chaos run's options: <c>--name value</c> pairs, and the flags <c>--smoke</c> and <c>--keep</c>.</summary>
internal sealed record ChaosOptions
{
    public int Referrals { get; init; } = 5000;
    public int Concurrency { get; init; } = 16;

    /// <summary>SIGKILLs of the DevHost, at random moments while the burst and its processing run.</summary>
    public int Kills { get; init; } = 10;

    /// <summary>Graceful restarts of Azurite (data kept), between kills.</summary>
    public int AzuriteRestarts { get; init; } = 2;

    /// <summary>The mean time between two faults (kills and restarts); each gap is drawn from half to one and a half of it.</summary>
    public TimeSpan FaultSpacing { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>DevHost:MessageLease: shortened so a killed host's messages come back sooner (the host's default is 10 minutes).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The share of SendGrid requests answered 500 or 503 (not accepted).</summary>
    public double Fail { get; init; } = 0.10;

    /// <summary>The share accepted but answered only after the attempt timeout.</summary>
    public double Hang { get; init; } = 0.05;

    /// <summary>
    /// The share of referrals whose visitor confirmation SendGrid refuses with 400 every time (an address it will not
    /// take): their messages must reach poison, be parked and be alerted to operators. None in the smoke run, whose
    /// drain would otherwise wait for a digest.
    /// </summary>
    public double Reject { get; init; } = 0.002;

    /// <summary>The mean time between two bursts of 429; each burst lasts until its announced reset.</summary>
    public TimeSpan RateLimitSpacing { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// A request that reaches the stand-in this soon after a 429 went out was already on its way; one later and before
    /// the reset is an early request. The app checks its gate just before each send, so its own requests take far less.
    /// </summary>
    public TimeSpan InFlightAllowance { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Email:ClaimTimeout: how long an email claimed by a killed host is left before another takes it over. The app's
    /// default (1 minute) unless set; the smoke run shortens it, as it does the lease.
    /// </summary>
    public TimeSpan? ClaimTimeout { get; init; }

    /// <summary>
    /// Intake:ReconcileAfter: a referral stored but whose queue message was lost to a kill is queued again by the
    /// reconciler after this long (the app's default, 2 minutes, unless set; the smoke run shortens it).
    /// </summary>
    public TimeSpan? ReconcileAfter { get; init; }

    /// <summary>Added to the grace and the attempt timeout: how long the stand-in must be quiet before counting.</summary>
    public TimeSpan QuietMargin { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromMinutes(45);
    public bool Smoke { get; init; }
    public bool Keep { get; init; }

    /// <summary>
    /// How long the stand-in must see no request before duplicates are counted: a resend comes after the grace, or
    /// after a lease or the queue's visibility timeout, plus an attempt.
    /// </summary>
    public TimeSpan Quiet => Grace + AttemptTimeout + QuietMargin;

    /// <summary>The CI version: about 200 referrals, 2 kills, 1 Azurite restart, a 10 s lease, in under two minutes.</summary>
    public static ChaosOptions SmokeDefaults { get; } = new()
    {
        Smoke = true,
        Referrals = 200,
        Concurrency = 8,
        Kills = 2,
        AzuriteRestarts = 1,
        FaultSpacing = TimeSpan.FromSeconds(6),
        Lease = TimeSpan.FromSeconds(10),
        ClaimTimeout = TimeSpan.FromSeconds(20),
        ReconcileAfter = TimeSpan.FromSeconds(20),
        QuietMargin = TimeSpan.FromSeconds(8),
        RateLimitSpacing = TimeSpan.FromSeconds(15),
        Grace = TimeSpan.FromSeconds(10),
        Reject = 0,
        DrainTimeout = TimeSpan.FromSeconds(150),
        TimeLimit = TimeSpan.FromMinutes(5),
    };

    public static ChaosOptions Parse(string[] args)
    {
        var options = args.Contains("--smoke") ? SmokeDefaults : new ChaosOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--smoke" or "--keep")
            {
                options = name == "--keep" ? options with { Keep = true } : options;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new BenchFailure($"Option {name} needs a value after it (see bench/README.md).");
            }

            var value = args[++i];
            options = name switch
            {
                "--referrals" => options with { Referrals = OptionValues.Int(name, value, 1) },
                "--concurrency" => options with { Concurrency = OptionValues.Int(name, value, 1) },
                "--kills" => options with { Kills = OptionValues.Int(name, value, 0) },
                "--azurite-restarts" => options with { AzuriteRestarts = OptionValues.Int(name, value, 0) },
                "--fault-spacing" => options with { FaultSpacing = Time(name, value) },
                "--lease" => options with { Lease = Time(name, value) },
                "--claim-timeout" => options with { ClaimTimeout = Time(name, value) },
                "--reconcile-after" => options with { ReconcileAfter = Time(name, value) },
                "--fail" => options with { Fail = OptionValues.Share(name, value) },
                "--hang" => options with { Hang = OptionValues.Share(name, value) },
                "--reject" => options with { Reject = OptionValues.Share(name, value) },
                "--rate-limit-spacing" => options with { RateLimitSpacing = Time(name, value) },
                "--grace" => options with { Grace = Time(name, value) },
                "--drain-timeout" => options with { DrainTimeout = TimeSpan.FromSeconds(OptionValues.Int(name, value, 1)) },
                "--time-limit" => options with { TimeLimit = TimeSpan.FromSeconds(OptionValues.Int(name, value, 1)) },
                _ => throw new BenchFailure($"Unknown option {name} (see bench/README.md)."),
            };
        }

        if (options.Fail + options.Hang > 1)
        {
            throw new BenchFailure("--fail and --hang together exceed 1.");
        }

        return options;
    }

    public string Describe() =>
        $"{(Smoke ? "--smoke " : "")}--referrals {Referrals} --concurrency {Concurrency} --kills {Kills} --azurite-restarts {AzuriteRestarts} "
        + $"--fault-spacing {FaultSpacing:c} --lease {Lease:c}{(ClaimTimeout is { } claim ? $" --claim-timeout {claim:c}" : "")}{(ReconcileAfter is { } reconcile ? $" --reconcile-after {reconcile:c}" : "")} --fail {Fail.ToString(CultureInfo.InvariantCulture)} --hang {Hang.ToString(CultureInfo.InvariantCulture)} --reject {Reject.ToString(CultureInfo.InvariantCulture)} "
        + $"--rate-limit-spacing {RateLimitSpacing:c} --grace {Grace:c}";

    private static TimeSpan Time(string name, string value) => OptionValues.Time(name, value, allowZero: false);
}
