using Microsoft.Azure.Functions.Worker;

namespace Referrals.Functions.Privacy;

/// <summary>Daily at 03:30 UTC: removes what has outlived its retention period (see RetentionPurge).</summary>
public sealed class PurgeExpiredData(RetentionPurge purge)
{
    [Function(nameof(PurgeExpiredData))]
    public async Task Run([TimerTrigger("0 30 3 * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        await purge.PurgeAsync(cancellationToken);
}
