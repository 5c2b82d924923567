using System.Text;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;

namespace Referrals.Bench.Pipeline;

/// <summary>One kind of storage request: service ("table" or "queue"), the table or queue, and what was done.</summary>
internal sealed record RequestKind(string Service, string Name, string Operation);

/// <summary>The requests Azurite served between two marks, by kind.</summary>
internal sealed record RequestCount(IReadOnlyDictionary<RequestKind, int> ByKind)
{
    public int Total => ByKind.Values.Sum();

    /// <summary>Queue receives, empty polls included: how many depends on timing (polling backoff), not on the code path.</summary>
    public int Receives => ByKind.Where(k => k.Key.Operation == "receive").Sum(k => k.Value);
}

/// <summary>
/// Counts requests from Azurite's own request log (azurite --debug FILE), as ../shared/tools/storage-requests/count.py
/// does, between two marks. Requests the bench made itself (its User-Agent carries <see cref="BenchClients.ApplicationId"/>)
/// are left out, so only the DevHost's are charged to the pipeline.
/// </summary>
internal sealed partial class AzuriteRequestLog(string path, string connectionString)
{
    private readonly QueueServiceClient queues = new(connectionString, BenchClients.Queues());
    private long scanned;

    /// <summary>
    /// A point in the log that every request Azurite answered before this call lies ahead of. Azurite writes its log
    /// behind its answers (under load by a minute or more, and what is unwritten when it is killed is lost), so the file's
    /// length says nothing: the bench makes a request of its own naming a fresh queue and waits until that line is written.
    /// </summary>
    public async Task<long> MarkAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var marker = "bench-mark-" + Guid.NewGuid().ToString("N")[..12];
        var since = scanned;
        await queues.GetQueueClient(marker).ExistsAsync(cancellationToken);
        var needle = Encoding.ASCII.GetBytes($"/{AccountPath}/{marker}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var lastFullScan = TimeSpan.Zero;
        while (true)
        {
            if (Find(needle, scanned) is { } end)
            {
                scanned = end;
                return end;
            }

            // Belt and braces: now and then look again from where this mark began, in case the quick scan's restart point was wrong.
            if (clock.Elapsed - lastFullScan > TimeSpan.FromSeconds(10))
            {
                lastFullScan = clock.Elapsed;
                if (Find(needle, since) is { } found)
                {
                    Console.Error.WriteLine($"warning: found the log marker {marker} only by scanning again from {since} (the quick scan was at {scanned}).");
                    scanned = found;
                    return found;
                }
            }

            if (clock.Elapsed > timeout)
            {
                throw new BenchFailure($"Azurite's request log ({path}) did not show the bench's marker request ({marker}) within {timeout.TotalSeconds:F0} s "
                    + $"(searched from byte {since}; the log has {new FileInfo(path).Length} bytes): its log writing fell too far behind to count requests.");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    public RequestCount Count(long from, long to)
    {
        var counts = new Dictionary<RequestKind, int>();
        using var stream = Open();
        stream.Position = from;
        var buffer = new byte[1 << 20];
        var carry = new List<byte>();
        var remaining = to - from;
        while (remaining > 0)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            if (read == 0)
            {
                break;
            }

            remaining -= read;
            var lineStart = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                string line;
                if (carry.Count > 0)
                {
                    carry.AddRange(buffer.AsSpan(lineStart, i - lineStart));
                    line = Encoding.UTF8.GetString(carry.ToArray());
                    carry.Clear();
                }
                else
                {
                    line = Encoding.UTF8.GetString(buffer, lineStart, i - lineStart);
                }

                Add(counts, line);
                lineStart = i + 1;
            }

            carry.AddRange(buffer.AsSpan(lineStart, read - lineStart));
        }

        return new RequestCount(counts);
    }

    /// <summary>Classifies one log line, if it is the start of a request (one such line per request).</summary>
    internal static RequestKind? Classify(string line)
    {
        if (!line.Contains("StorageContextMiddleware: RequestMethod=", StringComparison.Ordinal)
            || line.Contains($"\"user-agent\":\"{BenchClients.ApplicationId} ", StringComparison.Ordinal))
        {
            return null;
        }

        var match = RequestLine().Match(line);
        if (!match.Success)
        {
            return null;
        }

        var (service, method, path, query) = (match.Groups[1].Value, match.Groups[2].Value, match.Groups[3].Value, match.Groups[4].Value);
        var parts = path.Split('/');
        if (service == "Queue")
        {
            var queue = parts[0].Length == 0 ? "(account)" : parts[0];
            if (parts.Length >= 2 && parts[1] == "messages")
            {
                var operation = method switch
                {
                    "GET" when query.Contains("peekonly", StringComparison.OrdinalIgnoreCase) => "peek",
                    "GET" => "receive",
                    "POST" => "send",
                    "DELETE" => "delete",
                    "PUT" => "update",
                    _ => method,
                };
                return new RequestKind("queue", queue, operation);
            }

            return new RequestKind("queue", queue, "admin " + method);
        }

        // Entity paths look like Referrals(PartitionKey='…',RowKey='…'); a GET without keys is a query.
        var table = TableKeys().Replace(parts[0], "");
        if (table.StartsWith("$batch", StringComparison.Ordinal))
        {
            return new RequestKind("table", "(batch)", "batch");
        }

        return new RequestKind("table", table, method == "GET" && !parts[0].Contains('(', StringComparison.Ordinal) ? "query" : method);
    }

    private static void Add(Dictionary<RequestKind, int> counts, string line)
    {
        if (Classify(line) is { } kind)
        {
            counts[kind] = counts.GetValueOrDefault(kind) + 1;
        }
    }

    /// <summary>
    /// The end of the first complete line holding <paramref name="needle"/> at or after <paramref name="from"/>, if written
    /// yet. Otherwise null, and <see cref="scanned"/> moves on to the last complete line read, where the next look starts.
    /// </summary>
    private long? Find(byte[] needle, long from)
    {
        using var stream = Open();
        stream.Position = from;
        var buffer = new byte[1 << 20];
        var carry = Array.Empty<byte>();
        var offset = from; // file position of window[0]
        while (true)
        {
            var read = stream.Read(buffer, 0, buffer.Length);
            if (read == 0)
            {
                return null;
            }

            var window = carry.Length == 0 ? buffer.AsSpan(0, read) : [.. carry, .. buffer.AsSpan(0, read)];
            var at = window.IndexOf(needle);
            if (at >= 0)
            {
                var newline = window[at..].IndexOf((byte)'\n');
                return newline < 0 ? null : offset + at + newline + 1; // null: the marker's line is still being written
            }

            // Scan on, keeping the tail after the last complete line, in case the needle straddles chunks.
            var lastNewline = window.LastIndexOf((byte)'\n');
            var keepFrom = lastNewline >= 0 ? lastNewline + 1 : 0;
            carry = window[keepFrom..].ToArray();
            offset += keepFrom;
            if (lastNewline >= 0 && offset > scanned)
            {
                scanned = offset;
            }
        }
    }

    private FileStream Open() => new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    private const string AccountPath = "devstoreaccount1";

    [GeneratedRegex(@"(Queue|Table)StorageContextMiddleware: RequestMethod=(\w+) RequestURL=http://[^/]+/devstoreaccount1/([^ ?]*)(\?\S*)?")]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"\(.*")]
    private static partial Regex TableKeys();
}
