namespace Referrals.Bench.Pipeline;

internal static class Percentiles
{
    /// <summary>Nearest rank: the smallest sample with at least p% of the samples at or below it (with 20 samples p95 is the 19th, p99 the largest).</summary>
    public static TimeSpan Of(IReadOnlyCollection<TimeSpan> samples, double percent)
    {
        if (samples.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var sorted = samples.Order().ToArray();
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }
}
