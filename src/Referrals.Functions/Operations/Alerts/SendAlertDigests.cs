using Microsoft.Azure.Functions.Worker;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>Every minute: raises alerts for parked messages that waited too long, then sends the digests that are due.</summary>
public sealed class SendAlertDigests(PoisonWaitingCheck poisonWaiting, AlertDigests digests)
{
    [Function(nameof(SendAlertDigests))]
    public async Task Run([TimerTrigger("0 * * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        await poisonWaiting.CheckAsync(cancellationToken);
        await digests.SendDueAsync(cancellationToken);
    }
}
