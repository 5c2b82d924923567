using Azure.Storage.Queues;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// Samples the approximate message count of every queue in the account once a second and keeps the largest total:
/// in Azurite every queue operation scans all messages of the account, so depth has to be read beside throughput.
/// </summary>
internal sealed class QueueDepthSampler : IAsyncDisposable
{
    private readonly QueueServiceClient service;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private int max;
    private int last;

    public QueueDepthSampler(string connectionString)
    {
        service = new QueueServiceClient(connectionString, BenchClients.Queues());
        loop = Task.Run(RunAsync);
    }

    public int Max => Volatile.Read(ref max);
    public int Last => Volatile.Read(ref last);

    /// <summary>Starts a new maximum (each burst reports its own).</summary>
    public void Reset() => Volatile.Write(ref max, 0);

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
        stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                var total = 0;
                await foreach (var queue in service.GetQueuesAsync(cancellationToken: stop.Token))
                {
                    total += (await service.GetQueueClient(queue.Name).GetPropertiesAsync(stop.Token)).Value.ApproximateMessagesCount;
                }

                Volatile.Write(ref last, total);
                if (total > Volatile.Read(ref max))
                {
                    Volatile.Write(ref max, total);
                }
            }
            while (await timer.WaitForNextTickAsync(stop.Token));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped.
        }
        catch (Azure.RequestFailedException e)
        {
            Console.Error.WriteLine($"warning: queue depth sampling stopped: {e.Status} {e.ErrorCode}");
        }
    }
}
