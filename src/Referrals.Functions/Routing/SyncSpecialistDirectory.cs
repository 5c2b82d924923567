using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Referrals.Functions.Routing;

/// <summary>Keeps the specialists table in step with the data file shipped with each deployment.</summary>
public sealed partial class SyncSpecialistDirectory(SpecialistDirectory directory, ILogger<SyncSpecialistDirectory> logger)
{
    [Function(nameof(SyncSpecialistDirectory))]
    public async Task Run([TimerTrigger("0 0 * * * *", RunOnStartup = true)] TimerInfo timer, CancellationToken cancellationToken)
    {
        var count = await directory.ImportFileAsync(cancellationToken);
        LogSynced(count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Specialist directory synced: {Count} specialists")]
    private partial void LogSynced(int count);
}
