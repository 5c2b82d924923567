using System.Diagnostics;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Observability;

/// <summary>
/// Wraps a queue-triggered function's work: continues the trace its message carries (linked to the invocation's own
/// span, which the Functions host starts), records the time the message waited as a span and in the queue wait
/// histogram, and marks the span failed when the work throws. The functions call it in one line, so the Functions
/// worker and the DevHost (which invokes the same classes without worker middleware) produce the same spans.
/// </summary>
public sealed class QueueConsumer(PipelineMetrics metrics, TimeProvider clock)
{
    public PipelineMetrics Metrics { get; } = metrics;
    public TimeProvider Clock { get; } = clock;
}

public static class QueueConsumerExtensions
{
    /// <param name="consumer">Null when a test builds the function by hand: spans still, no metrics.</param>
    /// <param name="operation">The span's name: what the function does with the message.</param>
    /// <param name="insertedAt">The message's insertion time (the trigger's binding data), when known.</param>
    public static async Task ConsumeAsync(this QueueConsumer? consumer, string queue, string operation, ReferralMessage message, DateTimeOffset? insertedAt, Func<Task> run)
    {
        var destination = StorageNames.WithoutUrgency(queue);
        var parent = QueueTracing.ParentOf(message.TraceParent);
        var invocation = Activity.Current;
        var now = (consumer?.Clock ?? TimeProvider.System).GetUtcNow();
        try
        {
            using var activity = ReferralTelemetry.Source.StartActivity(
                operation,
                ActivityKind.Consumer,
                parent,
                [new("messaging.system", QueueTracing.MessagingSystem), new(ReferralTelemetry.QueueTag, destination), new("messaging.operation.type", "process")],
                // The invocation's span belongs to the host's trace (or none, in the DevHost): linked, not parent.
                invocation is null || parent == default ? null : [new ActivityLink(invocation.Context)]);
            // A held-back message (a backstop) was not waiting while it was invisible.
            if (insertedAt?.Add(message.HeldBack ?? TimeSpan.Zero) is { } inserted)
            {
                var wait = now - inserted;
                consumer?.Metrics.QueueWait(destination, wait);
                // A sibling of the processing under the producer; without a producer (an old message), its child.
                var waited = ReferralTelemetry.Source.StartActivity(
                    ReferralTelemetry.QueueWaitSpan, ActivityKind.Internal, parent != default ? parent : activity?.Context ?? default,
                    [new(ReferralTelemetry.QueueTag, destination)], startTime: inserted);
                if (waited is not null)
                {
                    // It ends where the processing starts; clocks apart by a little never make it negative.
                    waited.SetEndTime((wait > TimeSpan.Zero ? now : inserted + TimeSpan.FromTicks(1)).UtcDateTime);
                    waited.Stop();
                }

                Activity.Current = activity ?? invocation;
            }

            try
            {
                await run();
            }
            catch (Exception e)
            {
                // The type only: messages may say more than spans may.
                activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                throw;
            }
        }
        finally
        {
            Activity.Current = invocation;
        }
    }
}
