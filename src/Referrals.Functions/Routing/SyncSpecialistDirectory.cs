using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Referrals.Functions.Routing;

/// <summary>
/// Keeps the specialists table in step with the data file shipped with each deployment. RunOnStartup runs it on every
/// new instance (each scale-out on Azure), so it imports only a file that changed since the last import and never
/// undoes an operator's upload (see <see cref="SpecialistDirectory.SyncDeployedFileAsync"/>).
/// </summary>
public sealed partial class SyncSpecialistDirectory(SpecialistDirectory directory, ILogger<SyncSpecialistDirectory> logger)
{
    [Function(nameof(SyncSpecialistDirectory))]
    public async Task Run([TimerTrigger("0 0 * * * *", RunOnStartup = true)] TimerInfo timer, CancellationToken cancellationToken)
    {
        if (await directory.SyncDeployedFileAsync(cancellationToken) is { } count)
        {
            LogSynced(count);
        }
        else
        {
            LogUnchanged();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Specialist directory unchanged since the last import; nothing synced")]
    private partial void LogUnchanged();

    [LoggerMessage(Level = LogLevel.Information, Message = "Specialist directory synced: {Count} specialists")]
    private partial void LogSynced(int count);
}
