namespace Referrals.Bench.Pipeline;

/// <summary>Samples a process's resident memory (VmRSS in /proc/PID/status) once a second and keeps the peak.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly int processId;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private long peakKb;

    public RssSampler(int processId)
    {
        this.processId = processId;
        loop = Task.Run(RunAsync);
    }

    public double PeakMiB => Interlocked.Read(ref peakKb) / 1024.0;

    /// <summary>The kernel's own high-water mark (VmHWM), which a 1 s sample can miss; null once the process is gone.</summary>
    public double? HighWaterMiB => ReadKb("VmHWM") is { } kb ? kb / 1024.0 : null;

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
                if (ReadKb("VmRSS") is { } kb && kb > Interlocked.Read(ref peakKb))
                {
                    Interlocked.Exchange(ref peakKb, kb);
                }
            }
            while (await timer.WaitForNextTickAsync(stop.Token));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private long? ReadKb(string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return line is not null && long.TryParse(line[(field.Length + 1)..].Trim().Split(' ')[0], out var kb) ? kb : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
