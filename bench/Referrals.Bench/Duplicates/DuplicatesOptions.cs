using System.Globalization;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Duplicates;

/// <summary>The duplicates run's options: <c>--name value</c> pairs and the flag <c>--keep</c>.</summary>
internal sealed record DuplicatesOptions
{
    public int Referrals { get; init; } = 300;

    /// <summary>The share of SendGrid requests answered only after the attempt timeout (accepted all the same).</summary>
    public double Hang { get; init; } = 0.05;

    /// <summary>Whether the DevHost has Email:EventWebhookPublicKey and the stand-in posts a "processed" event for every accepted request.</summary>
    public bool Webhook { get; init; } = true;

    /// <summary>Email:UnknownOutcomeGrace; only read by the app when the webhook is configured.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Email:Resilience:AttemptTimeout: short, so a hung request turns into an unknown outcome quickly.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long after accepting a request the stand-in posts its event: uniform between the two.</summary>
    public TimeSpan WebhookDelayMin { get; init; } = TimeSpan.FromSeconds(0.5);
    public TimeSpan WebhookDelayMax { get; init; } = TimeSpan.FromSeconds(5);

    public int Concurrency { get; init; } = 8;

    /// <summary>How long, after the last POST was answered, every referral may take to get its 2 emails.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(240);

    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromMinutes(8);

    public bool Keep { get; init; }

    /// <summary>
    /// After every referral has its emails, how long the stand-in must see no request before the count is final: a
    /// resend comes after the grace (webhook on) or after the queue's 5 s visibility timeout (off), plus an attempt.
    /// </summary>
    public TimeSpan Quiet => (Webhook ? Grace : TimeSpan.Zero) + AttemptTimeout + TimeSpan.FromSeconds(15);

    public static DuplicatesOptions Parse(string[] args)
    {
        var options = new DuplicatesOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--keep")
            {
                options = options with { Keep = true };
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
                "--hang" => options with { Hang = OptionValues.Share(name, value) },
                "--webhook" => options with { Webhook = value switch { "on" => true, "off" => false, _ => throw OptionValues.Bad(name, value) } },
                "--grace" => options with { Grace = OptionValues.Time(name, value) },
                "--attempt-timeout" => options with { AttemptTimeout = OptionValues.Time(name, value) },
                "--webhook-delay" => WithDelay(options, name, value),
                "--concurrency" => options with { Concurrency = OptionValues.Int(name, value, 1) },
                "--drain-timeout" => options with { DrainTimeout = TimeSpan.FromSeconds(OptionValues.Int(name, value, 1)) },
                "--time-limit" => options with { TimeLimit = TimeSpan.FromSeconds(OptionValues.Int(name, value, 1)) },
                _ => throw new BenchFailure($"Unknown option {name} (see bench/README.md)."),
            };
        }

        if (options.AttemptTimeout <= TimeSpan.Zero)
        {
            throw OptionValues.Bad("--attempt-timeout", options.AttemptTimeout.ToString());
        }

        return options;
    }

    /// <summary>Seconds as "min-max", e.g. 0.5-5.</summary>
    private static DuplicatesOptions WithDelay(DuplicatesOptions options, string name, string value)
    {
        var parts = value.Split('-');
        if (parts.Length != 2
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var min)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var max)
            || min < 0 || max < min)
        {
            throw OptionValues.Bad(name, value);
        }

        return options with { WebhookDelayMin = TimeSpan.FromSeconds(min), WebhookDelayMax = TimeSpan.FromSeconds(max) };
    }
}
