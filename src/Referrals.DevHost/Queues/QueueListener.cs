using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Referrals.DevHost.Functions;

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
    /// <summary>The lease the host takes on received messages; renewed at half this while the function runs.</summary>
    public static readonly TimeSpan ReceiveVisibility = TimeSpan.FromMinutes(10);

    private const int MaxQueueNameLength = 63;
    private const string PoisonSuffix = "-poison";

    private readonly QueueClient queue;
    private readonly QueueClient? poisonQueue;
    private readonly QueueClient? rawPoisonQueue;
    private readonly QueueSettings settings;
    private readonly Func<QueueMessage, CancellationToken, Task> process;
    private readonly RandomizedExponentialBackoff backoff;
    private readonly TimeSpan shutdownGrace;
    private readonly ILogger logger;

    /// <param name="connectionString">The storage account of the queue.</param>
    /// <param name="process">Runs the function for one message; an exception is a failed attempt.</param>
    public QueueListener(
        string connectionString,
        string queueName,
        QueueSettings settings,
        Func<QueueMessage, CancellationToken, Task> process,
        ILogger logger,
        Random? random = null,
        TimeSpan? shutdownGrace = null)
    {
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
        backoff = new RandomizedExponentialBackoff(RandomizedExponentialBackoff.DefaultMinimum, settings.MaxPollingInterval, random ?? Random.Shared);
    }

    public string QueueName => queue.Name;

    /// <summary>Polls until <paramref name="stopping"/> is cancelled, then lets in-flight invocations drain.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var execution = new CancellationTokenSource();
        var processing = new List<Task>();
        bool? queueExists = null;
        var foundSinceLastDelay = false;

        while (!stopping.IsCancellationRequested)
        {
            QueueMessage[]? batch = null;
            try
            {
                queueExists ??= (await queue.ExistsAsync(stopping)).Value ? true : null;
                if (queueExists == true)
                {
                    batch = (await queue.ReceiveMessagesAsync(settings.BatchSize, ReceiveVisibility, stopping)).Value;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (RequestFailedException e) when (e.Status == 404 || e.Status >= 500)
            {
                queueExists = null;
            }

            var messages = batch?.Where(m => m is not null).ToArray() ?? [];
            if (messages.Length > 0)
            {
                foreach (var message in messages)
                {
                    processing.Add(ProcessAsync(message, execution.Token));
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
            try
            {
                await Task.Delay(delay, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // Drain: let running invocations finish; past the grace period they are cancelled and their messages released.
        var drained = Task.WhenAll(processing);
        if (await Task.WhenAny(drained, Task.Delay(shutdownGrace, CancellationToken.None)) != drained)
        {
            await execution.CancelAsync();
        }

        await drained;
    }

    private async Task ProcessAsync(QueueMessage message, CancellationToken cancellation)
    {
        // Start on the thread pool so a synchronous function cannot block polling.
        await Task.Yield();
        if (message.DequeueCount > settings.MaxDequeueCount)
        {
            await MoveToPoisonAsync(message);
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

        if (failure is null)
        {
            await IgnoreGoneAsync(() => queue.DeleteMessageAsync(current.MessageId, current.PopReceipt, CancellationToken.None));
        }
        else if (cancellation.IsCancellationRequested)
        {
            LogReleasedOnShutdown(queue.Name, message.MessageId);
            await IgnoreGoneAsync(() => queue.UpdateMessageAsync(current.MessageId, current.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None));
        }
        else if (poisonQueue is not null && message.DequeueCount >= settings.MaxDequeueCount)
        {
            LogFailed(failure, queue.Name, message.MessageId, message.DequeueCount);
            await MoveToPoisonAsync(current);
        }
        else if (poisonQueue is not null)
        {
            LogFailed(failure, queue.Name, message.MessageId, message.DequeueCount);
            await IgnoreGoneAsync(() => queue.UpdateMessageAsync(current.MessageId, current.PopReceipt, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: CancellationToken.None));
        }
        else
        {
            // As the host does without a poison queue: leave the message invisible rather than spin on it.
            LogFailed(failure, queue.Name, message.MessageId, message.DequeueCount);
        }
    }

    private async Task RenewLeaseAsync(Lease lease, CancellationToken stop)
    {
        var interval = ReceiveVisibility / 2;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, stop);
                var receipt = await queue.UpdateMessageAsync(lease.MessageId, lease.PopReceipt, visibilityTimeout: ReceiveVisibility, cancellationToken: stop);
                lease.PopReceipt = receipt.Value.PopReceipt;
                interval = ReceiveVisibility / 2;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (RequestFailedException e) when (e.Status >= 500)
            {
                interval = TimeSpan.FromTicks(Math.Max(interval.Ticks / 2, TimeSpan.FromMinutes(1).Ticks));
            }
            catch (RequestFailedException)
            {
                return;
            }
        }
    }

    private async Task MoveToPoisonAsync(QueueMessage message)
    {
        LogPoisoned(queue.Name, message.MessageId, message.DequeueCount);
        await SendCreatingQueueAsync(poisonQueue!, message.Body.ToString());
        await IgnoreGoneAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None));
    }

    private async Task OnMessageDecodingFailedAsync(QueueMessageDecodingFailedEventArgs args)
    {
        if (args.ReceivedMessage is not { } message || rawPoisonQueue is null)
        {
            return;
        }

        LogUndecodable(queue.Name, message.MessageId);
        await SendCreatingQueueAsync(rawPoisonQueue, message.Body.ToString());
        await IgnoreGoneAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None));
    }

    private static async Task SendCreatingQueueAsync(QueueClient target, string body)
    {
        try
        {
            await target.SendMessageAsync(body, CancellationToken.None);
        }
        catch (RequestFailedException e) when (e.ErrorCode == QueueErrorCode.QueueNotFound)
        {
            await target.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None);
            await target.SendMessageAsync(body, CancellationToken.None);
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queue {Queue} is empty; next poll in {Delay}")]
    private partial void LogIdle(string queue, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: message {MessageId} failed on attempt {DequeueCount}")]
    private partial void LogFailed(Exception exception, string queue, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue {Queue}: message {MessageId} moved to the poison queue after {DequeueCount} attempts")]
    private partial void LogPoisoned(string queue, string messageId, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue {Queue}: message {MessageId} is not valid Base64 and was moved to the poison queue")]
    private partial void LogUndecodable(string queue, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Queue {Queue}: message {MessageId} released at shutdown")]
    private partial void LogReleasedOnShutdown(string queue, string messageId);
}
