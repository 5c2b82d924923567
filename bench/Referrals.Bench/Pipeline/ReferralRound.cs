using System.Diagnostics;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Referrals.Bench.Pipeline;

/// <summary>
/// Azurite's own ceiling for the work one referral needs, measured the way ../shared/docs/azurite-notes.md did: a
/// "referral round" is 1 table add + 2 × (queue send, receive, delete) + 3 table upserts, run back to back by
/// concurrent workers on a table and queue of its own (the queue is deleted after, so no backlog is left behind).
/// </summary>
internal sealed class ReferralRound(string connectionString)
{
    // About the size of a stored referral; queue messages carry ids only, as the pipeline's do.
    private static readonly string Payload = new('x', 1024);
    private const string Message = """{"referralId":"R-BENCH-ROUND"}""";

    public async Task<double> RoundsPerSecondAsync(int concurrency, TimeSpan warmUp, TimeSpan measured, CancellationToken cancellationToken)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var table = new TableClient(connectionString, "benchround" + suffix, BenchClients.Tables());
        var queue = new QueueClient(connectionString, "bench-round-" + suffix, BenchClients.Queues());
        await table.CreateIfNotExistsAsync(cancellationToken);
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

        long completed = 0;
        var stop = false;
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            for (var round = 0; !Volatile.Read(ref stop); round++)
            {
                await OneRoundAsync(table, queue, $"w{worker}", $"r{round:D8}", cancellationToken);
                Interlocked.Increment(ref completed);
            }
        }, cancellationToken)).ToList();

        try
        {
            await Task.WhenAny(Task.Delay(warmUp, cancellationToken), Task.WhenAll(workers));
            var before = Interlocked.Read(ref completed);
            var clock = Stopwatch.StartNew();
            await Task.WhenAny(Task.Delay(measured, cancellationToken), Task.WhenAll(workers));
            var after = Interlocked.Read(ref completed);
            var elapsed = clock.Elapsed;
            Volatile.Write(ref stop, true);
            await Task.WhenAll(workers); // a failed round surfaces here
            return (after - before) / elapsed.TotalSeconds;
        }
        finally
        {
            Volatile.Write(ref stop, true);
            await Task.WhenAll(workers.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default)));
            await queue.DeleteIfExistsAsync(CancellationToken.None);
            await table.DeleteAsync(CancellationToken.None);
        }
    }

    private static async Task OneRoundAsync(TableClient table, QueueClient queue, string partition, string row, CancellationToken cancellationToken)
    {
        await table.AddEntityAsync(new TableEntity(partition, row) { ["Payload"] = Payload, ["Step"] = 0 }, cancellationToken);
        for (var hop = 0; hop < 2; hop++)
        {
            await queue.SendMessageAsync(Message, cancellationToken);
            QueueMessage? message = null;
            while (message is null)
            {
                // Another worker may hold every visible message for a moment; ours is then taken by someone else's receive.
                message = (await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(30), cancellationToken)).Value;
                if (message is null)
                {
                    await Task.Delay(5, cancellationToken);
                }
            }

            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        }

        for (var step = 1; step <= 3; step++)
        {
            await table.UpsertEntityAsync(new TableEntity(partition, row) { ["Step"] = step }, TableUpdateMode.Merge, cancellationToken);
        }
    }
}
