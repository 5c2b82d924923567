using System.Globalization;

namespace Referrals.Bench.Pipeline;

/// <summary>The pipeline run's options: <c>--name value</c> pairs and the flags <c>--keep</c> and <c>--one-client</c>.</summary>
internal sealed record PipelineOptions
{
    public int Sequential { get; init; } = 20;
    public int SmallBurst { get; init; } = 300;
    public int Burst { get; init; } = 2000;
    public int Concurrency { get; init; } = 32;

    /// <summary>How long a burst may take, after its last POST was answered, until every referral's two emails arrived.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// A hard stop for the whole run: past it the run fails naming the step it was in. A run takes 5–7 minutes at the
    /// usual load of this 2-core machine and about 11 at a load average of 20; past 15 something is wrong.
    /// </summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Post every referral from the bench's own address, as one client (the per-client rate counter is then one row).</summary>
    public bool OneClient { get; init; }

    /// <summary>Keep the work folder (Azurite's data and request log, the DevHost's output) after a successful run.</summary>
    public bool Keep { get; init; }

    public static PipelineOptions Parse(string[] args)
    {
        var options = new PipelineOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--keep" or "--one-client")
            {
                options = name == "--keep" ? options with { Keep = true } : options with { OneClient = true };
                continue;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                throw new BenchFailure($"Option {name} needs a whole number after it (see bench/README.md).");
            }

            i++;
            options = name switch
            {
                "--sequential" when value >= 1 => options with { Sequential = value },
                "--small-burst" => options with { SmallBurst = value },
                "--burst" when value >= 1 => options with { Burst = value },
                "--concurrency" when value >= 1 => options with { Concurrency = value },
                "--drain-timeout" when value >= 1 => options with { DrainTimeout = TimeSpan.FromSeconds(value) },
                "--time-limit" when value >= 1 => options with { TimeLimit = TimeSpan.FromSeconds(value) },
                _ => throw new BenchFailure($"Unknown option or value out of range: {name} {value} (see bench/README.md)."),
            };
        }

        return options;
    }
}
