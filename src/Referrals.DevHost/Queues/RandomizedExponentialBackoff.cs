namespace Referrals.DevHost.Queues;

/// <summary>
/// The Functions host's polling backoff (RandomizedExponentialBackoffStrategy): from the minimum interval, each empty
/// poll adds 2^(n-1) × minimum × U(0.8, 1.2) until the maximum is reached; finding a message resets it.
/// </summary>
public sealed class RandomizedExponentialBackoff(TimeSpan minimum, TimeSpan maximum, Random random)
{
    private readonly TimeSpan minimumInterval = minimum;
    private const double RandomizationFactor = 0.2;
    private TimeSpan current;
    private int exponent;

    public static readonly TimeSpan DefaultMinimum = TimeSpan.FromMilliseconds(100);

    public TimeSpan GetNextDelay(bool executionSucceeded)
    {
        if (executionSucceeded)
        {
            current = minimumInterval;
            exponent = 1;
        }
        else if (current != maximum)
        {
            var backoff = minimumInterval;
            if (exponent > 0)
            {
                var factor = (random.NextDouble() * 2 * RandomizationFactor) + (1 - RandomizationFactor);
                backoff += TimeSpan.FromMilliseconds(factor * Math.Pow(2, exponent - 1) * minimumInterval.TotalMilliseconds);
            }

            if (backoff < maximum)
            {
                current = backoff;
                exponent++;
            }
            else
            {
                current = maximum;
            }
        }

        return current;
    }
}
