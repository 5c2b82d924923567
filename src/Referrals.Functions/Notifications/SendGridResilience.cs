using System.Globalization;
using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Referrals.Functions.Notifications;

public sealed class SendGridResilienceOptions
{
    /// <summary>
    /// Retries inside one invocation. The queue's dequeue count is the outer retry, so attempts per email stay bounded:
    /// (1 + MaxRetryAttempts) × maxDequeueCount = 2 × 5 = 10 ≤ 12.
    /// </summary>
    public int MaxRetryAttempts { get; set; } = 1;

    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A 429 whose reset is further off than this is not waited for here: the message is queued again for then.</summary>
    public TimeSpan MaxRateLimitWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often an instance about to send reads the rate limit other instances shared (see <see cref="SendGridRateGate"/>):
    /// the most it can lag behind another instance's 429.
    /// </summary>
    public TimeSpan RateLimitRefresh { get; set; } = TimeSpan.FromSeconds(5);

    public double FailureRatio { get; set; } = 0.5;
    public int MinimumThroughput { get; set; } = 8;
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// The "sendgrid" pipeline: a short retry with jitter on 429, 5xx and timeouts (never other 4xx) that waits for
/// X-RateLimit-Reset or Retry-After on 429; the account's rate-limit gate before every attempt; a circuit breaker; and
/// a timeout per attempt.
/// </summary>
public static class SendGridResilience
{
    public const string PipelineName = "sendgrid";

    /// <param name="gate">Without one (tests of the other strategies alone), attempts are not gated.</param>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, SendGridResilienceOptions options, TimeProvider clock, SendGridRateGate? gate = null)
    {
        pipeline
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                // Only what surely did not reach SendGrid is tried again here: a timeout or a connection lost after
                // sending may have been accepted, and the ledger decides those (see SendNotifications).
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException e } => !MayHaveBeenSent(e),
                    { Result: { } response } when response.StatusCode == HttpStatusCode.TooManyRequests =>
                        RateLimitResetAt(response, clock.GetUtcNow()) is not { } reset || reset - clock.GetUtcNow() <= options.MaxRateLimitWait,
                    { Result: { } response } => (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.RequestTimeout,
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests } limited && RateLimitResetAt(limited, clock.GetUtcNow()) is { } reset
                        ? (TimeSpan?)Max(reset - clock.GetUtcNow(), TimeSpan.Zero)
                        : null),
            });
        if (gate is not null)
        {
            // Inside the retry, so its retries are gated too; outside the timeout, so waiting for a reset is not an
            // attempt timing out; outside the breaker, so a gated attempt is no failure of SendGrid's.
            pipeline.AddStrategy(_ => new SendGridRateGateStrategy(gate, clock));
        }

        pipeline
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                // A 429 is SendGrid's rate limit, which the gate honours, not SendGrid failing. Counted, one 429 burst
                // would open the circuit and every message would spend its dequeue attempts on it (found by the chaos run).
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result?.StatusCode != HttpStatusCode.TooManyRequests && HttpClientResiliencePredicates.IsTransient(args.Outcome)),
            })
            .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = options.AttemptTimeout });
    }

    /// <summary>When SendGrid says a 429 ends: X-RateLimit-Reset (Unix seconds), else Retry-After.</summary>
    public static DateTimeOffset? RateLimitResetAt(HttpResponseMessage response, DateTimeOffset now)
    {
        if (response.Headers.TryGetValues("X-RateLimit-Reset", out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
        {
            return DateTimeOffset.FromUnixTimeSeconds(epoch);
        }

        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => now + delta,
            { Date: { } date } => date,
            _ => null,
        };
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public static bool IsOpenCircuit(Exception e) => e is BrokenCircuitException;

    /// <summary>
    /// Whether a failed attempt may still have reached SendGrid: a timeout, or a connection that failed after it was
    /// opened. A refused connection, a failed name lookup or an open circuit never sent anything.
    /// </summary>
    public static bool MayHaveBeenSent(Exception e) => e switch
    {
        BrokenCircuitException => false,
        TimeoutRejectedException or TaskCanceledException => true,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } => false,
        HttpRequestException => true,
        _ => false,
    };
}
