using System.Diagnostics;
using Azure.Storage.Queues;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Observability;

/// <summary>
/// Carries a referral's trace across its queues as a W3C traceparent in the message (an id, nothing else): the
/// producer's span is the consumer's parent, so intake, routing and each email share one trace id, which is the
/// referral's correlation id. A message without one (queued before this existed, or outside any trace) starts its own
/// trace when it is processed.
/// </summary>
public static class QueueTracing
{
    public const string MessagingSystem = "azure_storage_queues";

    /// <summary>Sends what <paramref name="body"/> makes of the traceparent of a producer span around the send.</summary>
    /// <param name="visibilityTimeout">Keeps the message invisible this long (a backstop); null: visible at once.</param>
    public static async Task PublishAsync(QueueClient queue, Func<string?, string> body, CancellationToken cancellationToken, TimeSpan? visibilityTimeout = null)
    {
        var destination = StorageNames.WithoutUrgency(queue.Name);
        // Outside any trace (a timer in the DevHost, a test) there is nothing to continue: the consumer starts the trace.
        using var activity = Activity.Current is null ? null : ReferralTelemetry.Source.StartActivity($"send {destination}", ActivityKind.Producer);
        activity?.SetTag("messaging.system", MessagingSystem);
        activity?.SetTag(ReferralTelemetry.QueueTag, destination);
        activity?.SetTag("messaging.operation.type", "send");
        try
        {
            await queue.SendMessageAsync(body(TraceParent(activity ?? Activity.Current)), visibilityTimeout, timeToLive: null, cancellationToken);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
            throw;
        }
    }

    /// <summary>The W3C traceparent of <paramref name="activity"/>, or null when there is none to carry.</summary>
    public static string? TraceParent(Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;

    /// <summary>The producer's context from a message's traceparent; default (no parent given) when absent or malformed.</summary>
    public static ActivityContext ParentOf(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : default;
}
