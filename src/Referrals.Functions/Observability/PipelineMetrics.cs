using System.Diagnostics.Metrics;
using Referrals.Functions.Intake;

namespace Referrals.Functions.Observability;

/// <summary>
/// The pipeline's counts on the Meter "Referrals" (intake's own, received and urgent, are <see cref="IntakeMetrics"/>).
/// Tags are closed sets (an outcome, a queue without its urgency): never an id, and never the urgent flag.
/// </summary>
public sealed class PipelineMetrics
{
    public const string RoutedCounter = "referrals.routed";
    public const string AcceptedCounter = "referrals.accepted";
    public const string FailedCounter = "referrals.failed";
    public const string EmailAttemptsCounter = "referrals.email.attempts";
    public const string EmailFailuresCounter = "referrals.email.failures";
    public const string EmailRateLimitedCounter = "referrals.email.rate_limited";
    public const string QueueWaitHistogram = "referrals.queue.wait";

    public const string OutcomeTag = "outcome";

    private readonly Counter<long> routed;
    private readonly Counter<long> accepted;
    private readonly Counter<long> failed;
    private readonly Counter<long> emailAttempts;
    private readonly Counter<long> emailFailures;
    private readonly Counter<long> emailRateLimited;
    private readonly Histogram<double> queueWait;

    public PipelineMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(IntakeMetrics.MeterName);
        routed = meter.CreateCounter<long>(RoutedCounter, "{referral}", "Referrals routed (again, after a decline or timeout), by outcome: specialist or triage.");
        accepted = meter.CreateCounter<long>(AcceptedCounter, "{referral}", "Referrals a specialist accepted.");
        failed = meter.CreateCounter<long>(FailedCounter, "{referral}", "Referrals marked Failed because a message about them reached poison.");
        emailAttempts = meter.CreateCounter<long>(EmailAttemptsCounter, "{request}", "HTTP attempts to send an email through SendGrid, retries included.");
        emailFailures = meter.CreateCounter<long>(EmailFailuresCounter, "{request}", "SendGrid attempts that failed (an error answer other than 429, or no answer).");
        emailRateLimited = meter.CreateCounter<long>(EmailRateLimitedCounter, "{request}", "SendGrid attempts answered 429 Too Many Requests.");
        queueWait = meter.CreateHistogram<double>(QueueWaitHistogram, "s", "Time from a message's insertion into its queue to the start of its processing.");
    }

    public void Routed(bool toSpecialist) => routed.Add(1, new KeyValuePair<string, object?>(OutcomeTag, toSpecialist ? "specialist" : "triage"));

    public void Accepted() => accepted.Add(1);

    public void Failed() => failed.Add(1);

    public void EmailAttempt() => emailAttempts.Add(1);

    public void EmailFailed() => emailFailures.Add(1);

    public void EmailRateLimited() => emailRateLimited.Add(1);

    /// <param name="queue">Without its urgency (see StorageNames.WithoutUrgency).</param>
    public void QueueWait(string queue, TimeSpan wait) =>
        queueWait.Record(Math.Max(0, wait.TotalSeconds), new KeyValuePair<string, object?>(ReferralTelemetry.QueueTag, queue));
}
