using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Referrals.DevHost.Functions;
using Referrals.Functions.Storage;

namespace Referrals.DevHost.Queues;

/// <summary>
/// Polls one queue with the Functions host's rules (QueueListener and QueueProcessor in
/// Microsoft.Azure.WebJobs.Extensions.Storage.Queues): batches of batchSize received with a 10 minute lease that is
/// renewed at half-time; the next batch once no more than newBatchThreshold are in flight; randomized exponential
/// backoff when idle; on failure the message becomes visible again after visibilityTimeout, and after maxDequeueCount
/// attempts it is copied to &lt;queue&gt;-poison and deleted.
/// </summary>
public sealed partial class QueueListener
{
    /// <summary>
    /// The lease the host takes on received messages (QueueListener's 10-minute visibility timeout); renewed at half
    /// this while the function runs (QueueListener.CreateUpdateMessageVisibilityTimer), sooner after a failed renewal.
    /// </summary>
    public static readonly TimeSpan DefaultMessageLease = TimeSpan.FromMinutes(10);

    /// <summary>The longest visibility timeout Azure Storage accepts.</summary>
    public static readonly TimeSpan MaxMessageLease = TimeSpan.FromDays(7);

    private const int MaxQueueNameLength = 63;
    private const string PoisonSuffix = "-poison";

    private readonly QueueClient queue;
    private readonly QueueClient? poisonQueue;
    private readonly QueueClient? rawPoisonQueue;
    private readonly QueueSettings settings;
    private readonly Func<QueueMessage, CancellationToken, Task> process;
    private readonly RandomizedExponentialBackoff backoff;
    private readonly TimeSpan shutdownGrace;
    private readonly bool drainOnStop;
    private readonly ILogger logger;

    /// <param name="connectionString">The storage account of the queue.</param>
    /// <param name="process">Runs the function for one message; an exception is a failed attempt.</param>
    /// <param name="shutdownGrace">How long a stop waits for in-flight invocations (the host's shutdown timeout).</param>
    /// <param name="drainOnStop">The host's drain mode: on stop, in-flight invocations run on instead of being cancelled.</param>
    /// <param name="messageLease">The lease on a received message; <see cref="DefaultMessageLease"/> unless a run shortens it.</param>
    public QueueListener(
        string connectionString,
        string queueName,
        QueueSettings settings,
        Func<QueueMessage, CancellationToken, Task> process,
        ILogger logger,
        Random? random = null,
        TimeSpan? shutdownGrace = null,
        bool drainOnStop = false,
        TimeSpan? messageLease = null)
    {
        MessageLease = messageLease ?? DefaultMessageLease;
        // Azure Storage takes whole seconds from 1 s to 7 days; anything else would fail on every receive.
        if (MessageLease < TimeSpan.FromSeconds(1) || MessageLease > MaxMessageLease || MessageLease.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(messageLease), MessageLease, "The message lease must be whole seconds from 1 s to 7 days.");
        }

        var options = new QueueClientOptions { MessageEncoding = settings.Base64Encoding ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None };
        options.MessageDecodingFailed += OnMessageDecodingFailedAsync;
        var service = new QueueServiceClient(connectionString, options);
        queue = service.GetQueueClient(queueName);

        var poisonName = queueName + PoisonSuffix;
        if (!queueName.EndsWith(PoisonSuffix, StringComparison.Ordinal) && poisonName.Length <= MaxQueueNameLength)
        {
            poisonQueue = service.GetQueueClient(poisonName);
            // A body that cannot be decoded is copied to poison as it is, without re-encoding.
            rawPoisonQueue = new QueueServiceClient(connectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None }).GetQueueClient(poisonName);
        }

        this.settings = settings;
        this.process = process;
        this.logger = logger;
        this.shutdownGrace = shutdownGrace ?? TimeSpan.FromSeconds(30);
        this.drainOnStop = drainOnStop;
        backoff = new RandomizedExponentialBackoff(RandomizedExponentialBackoff.DefaultMinimum, settings.MaxPollingInterval, random ?? Random.Shared);
    }

    public string QueueName => queue.Name;

    /// <summary>The lease taken on each received message and renewed while its function runs.</summary>
    public TimeSpan MessageLease { get; }

    /// <summary>Polls until <paramref name="stopping"/> is cancelled, then stops as the host's listener does.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var execution = new CancellationTokenSource();
        using var abandon = new CancellationTokenSource();
        var processing = new List<Task>();
        bool? queueExists = null;
        var foundSinceLastDelay = false;
        var storageDown = false;

        while (!stopping.IsCancellationRequested)
        {
            QueueMessage[]? batch = null;
            try
            {
                queueExists ??= (await queue.ExistsAsync(stopping)).Value ? true : null;
                if (queueExists == true)
                {
                    batch = (await queue.ReceiveMessagesAsync(settings.BatchSize, MessageLease, stopping)).Value;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                queueExists = null;
            }
            catch (Exception e) when (StorageOutage.IsTransient(e) && !stopping.IsCancellationRequested)
            {
                // Storage is away (Azurite stopped or restarting): back off as when idle and poll again, never crash
                // the host. The host's listener does the same for server errors; a refused connection is one here.
                queueExists = null;
                if (!storageDown)
                {
                    storageDown = true;
                    LogStorageDown(queue.Name, e.GetType().Name);
                }

                await DelayAsync(backoff.GetNextDelay(false), stopping);
                continue;
            }

            if (storageDown)
            {
                storageDown = false;
                LogStorageBack(queue.Name);
            }

            var messages = batch?.Where(m => m is not null).ToArray() ?? [];
            if (messages.Length > 0)
            {
                foreach (var message in messages)
                {
                    processing.Add(ProcessAsync(message, execution.Token, abandon.Token));
                }

                foundSinceLastDelay = true;
                processing.RemoveAll(t => t.IsCompleted);
                while (processing.Count > settings.NewBatchThreshold)
                {
                    processing.Remove(await Task.WhenAny(processing));
                }

                continue;
            }

            var delay = backoff.GetNextDelay(foundSinceLastDelay);
            foundSinceLastDelay = false;
            LogIdle(queue.Name, delay);
            await DelayAsync(delay, stopping);
        }

        // As QueueListener.StopAsync in Microsoft.Azure.WebJobs.Extensions.Storage.Queues (azure-sdk-for-net,
        // sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Common/src/Shared/Queues/QueueListener.cs): unless the
        // host is in drain mode (DrainModeManager, azure-webjobs-sdk), the invocations' token is signalled at once; then
        // the listener waits for them, and each outcome is completed as any other attempt would be.
        if (!drainOnStop)
        {
            await execution.CancelAsync();
        }

        var drained = Task.WhenAll(processing);
        if (await Task.WhenAny(drained, Task.Delay(shutdownGrace, CancellationToken.None)) != drained)
        {
            // Past the host's shutdown timeout: drained invocations are cancelled as disposing the listener does, and
            // completions are abandoned (the non-graceful shutdown token), so their messages reappear when the lease ends.
            await execution.CancelAsync();
            await abandon.CancelAsync();
        }

        await drained;
    }

    /// <summary>Waits unless stopping; the loop condition then ends the run.</summary>
    private static async Task DelayAsync(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, stopping);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ProcessAsync(QueueMessage message, CancellationToken cancellation, CancellationToken abandon)
    {
        try
        {
            await ProcessCoreAsync(message, cancellation, abandon);
        }
        catch (OperationCanceledException) when (abandon.IsCancellationRequested)
        {
            // As the host: a completion cut short by a non-graceful stop is not an error; the lease runs out.
        }
        catch (Exception e) when (StorageOutage.IsTransient(e))
        {
            // The delete, update or poison copy could not reach storage: the message reappears when its lease ends
            // and runs again (at least once), as on Azure when a completion fails.
            LogCompletionLost(queue.Name, message.MessageId, e.GetType().Name);
        }
    }

    private async Task ProcessCoreAsync(QueueMessage message, CancellationToken cancellation, CancellationToken abandon)
    {
        // Start on the thread pool so a synchronous function cannot block polling.
        await Task.Yield();
        if (message.DequeueCount > settings.MaxDequeueCount)
        {
            // QueueProcessor.BeginProcessingMessageAsync (same package): moved to poison when there is a poison queue;
            // on a queue without one (a "-poison" queue itself) the message is skipped, left invisible for its lease.
            if (poisonQueue is not null)
            {
                await MoveToPoisonAsync(message, abandon);
            }
            else
            {
                LogSkippedOverDequeued(queue.Name, message.MessageId, message.DequeueCount);
            }

            return;
        }

        var lease = new Lease(message.MessageId, message.PopReceipt);
        using var renewalStop = new CancellationTokenSource();
        var renewal = RenewLeaseAsync(lease, renewalStop.Token);
        Exception? failure = null;
        try
        {
            await process(message, cancellation);
        }
        catch (Exception e)
        {
            failure = e;
        }

        await renewalStop.CancelAsync();
        await renewal;
        var current = QueuesModelFactory.QueueMessage(message.MessageId, lease.PopReceipt, message.Body, message.DequeueCount, message.NextVisibleOn, message.InsertedOn, message.ExpiresOn);

        // QueueProcessor.CompleteProcessingMessageAsync: an invocation cancelled at shutdown is a failed attempt like
        // any other, so on its last attempt the message goes to poison.
        if (failure is null)
        {
            await IgnoreGoneAsync(() => queue.DeleteMessageAsync(current.MessageId, current.PopReceipt, abandon));
        }
        else if (poisonQueue is not null && message.DequeueCount >= settings.MaxDequeueCount)
        {
            LogFailed(failure, queue.Name, message.MessageId, message.DequeueCount);
            await MoveToPoisonAsync(current, abandon);
        }
        else if (poisonQueue is not null)
        {
            LogFailed(failure, queue.Name, message.MessageId, message.DequeueCount);
            await IgnoreGoneAsync(() => queue.UpdateMessageAsync(current.MessageId, current.PopReceipt, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: abandon));
        }
        else
        {
            // As the host does without a poison queue: leave the message invisible rather than spin on it.
            LogFailed(failure, queue.Name, message.MessageId, message.DequeueCount);
        }
    }

    private async Task RenewLeaseAsync(Lease lease, CancellationToken stop)
    {
        var interval = MessageLease / 2;
        // After a failed renewal the host retries sooner, down to a minute (LinearSpeedupStrategy); a shortened lease
        // needs a floor inside its own half.
        var floor = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, MessageLease.Ticks / 4));
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, stop);
                var receipt = await queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: MessageLease, cancellationToken: stop);
                lease.PopReceipt = receipt.Value.PopReceipt;
                interval = MessageLease / 2;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (StorageOutage.IsTransient(e) && !stop.IsCancellationRequested)
            {
                interval = TimeSpan.FromTicks(Math.Max(interval.Ticks / 2, floor.Ticks));
            }
            catch (RequestFailedException)
            {
                return;
            }
        }
    }

    private async Task MoveToPoisonAsync(QueueMessage message, CancellationToken abandon)
    {
        LogPoisoned(queue.Name, message.MessageId, message.DequeueCount);
        await SendCreatingQueueAsync(poisonQueue!, message.Body.ToString(), abandon);
        await IgnoreGoneAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, abandon));
    }

    private async Task OnMessageDecodingFailedAsync(QueueMessageDecodingFailedEventArgs args)
    {
        if (args.ReceivedMessage is not { } message || rawPoisonQueue is null)
        {
            return;
        }

        LogUndecodable(queue.Name, message.MessageId);
        await SendCreatingQueueAsync(rawPoisonQueue, message.Body.ToString(), CancellationToken.None);
        await IgnoreGoneAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None));
    }

    private static async Task SendCreatingQueueAsync(QueueClient target, string body, CancellationToken cancellationToken)
    {
        try
        {
            await target.SendMessageAsync(body, cancellationToken);
        }
        catch (RequestFailedException e) when (e.ErrorCode == QueueErrorCode.QueueNotFound)
        {
            await target.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            await target.SendMessageAsync(body, cancellationToken);
        }
    }

    /// <summary>Another receiver or an expired lease may have taken the message; as in the host, that is not an error here.</summary>
    private static async Task IgnoreGoneAsync(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400 && (e.ErrorCode == QueueErrorCode.MessageNotFound || e.ErrorCode == QueueErrorCode.PopReceiptMismatch || e.ErrorCode == QueueErrorCode.QueueNotFound))
        {
        }
    }

    private sealed class Lease(string messageId, string popReceipt)
    {
        public string MessageId { get; } = messageId;
        public string PopReceipt { get; set; } = popReceipt;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: storage is unreachable ({Error}); polling backs off until it answers")]
    private partial void LogStorageDown(string queue, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Queue {Queue}: storage answers again; polling resumed")]
    private partial void LogStorageBack(string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: message {MessageId} could not be completed ({Error}); it reappears when its lease ends")]
    private partial void LogCompletionLost(string queue, string messageId, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queue {Queue} is empty; next poll in {Delay}")]
    private partial void LogIdle(string queue, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: message {MessageId} failed on attempt {DequeueCount}")]
    private partial void LogFailed(Exception exception, string queue, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue {Queue}: message {MessageId} moved to the poison queue after {DequeueCount} attempts")]
    private partial void LogPoisoned(string queue, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue {Queue}: message {MessageId} is not valid Base64 and was moved to the poison queue")]
    private partial void LogUndecodable(string queue, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: message {MessageId} was dequeued {DequeueCount} times and has no poison queue; skipped")]
    private partial void LogSkippedOverDequeued(string queue, string messageId, long dequeueCount);
}
