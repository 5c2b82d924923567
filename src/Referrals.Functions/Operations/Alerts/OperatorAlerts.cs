using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>What became of a raised alert.</summary>
public enum AlertOutcome
{
    /// <summary>It opened its condition's quiet period and went out at once.</summary>
    Sent,

    /// <summary>Recorded for the digest at the end of the quiet period (or for a retry when sending failed).</summary>
    Pending,

    /// <summary>This condition was raised for this referral and scope before: nothing more.</summary>
    AlreadyRaised,

    /// <summary>The referral is erased: nothing is kept or sent about it.</summary>
    Erased,
}

/// <summary>
/// Raises operator alerts: each condition, referral and scope once (the row's insert is the claim, so a retry or a
/// second copy adds nothing); the first of a quiet period at once, the rest recorded for one digest at its end.
/// The row is written before anything is sent, so a crash leaves it Pending for the digest timer, never lost.
/// </summary>
public sealed partial class OperatorAlerts(
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    QuietPeriods quietPeriods,
    AlertMail mail,
    TimeProvider clock,
    ILogger<OperatorAlerts> logger)
{
    public async Task<AlertOutcome> RaiseAsync(OperatorAlert alert, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var row = AlertEntity.Raised(alert, now);
        try
        {
            row.ETag = (await ledger.AddEntityAsync(row, cancellationToken)).Headers.ETag ?? default;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return AlertOutcome.AlreadyRaised;
        }

        // Checked after the row is written: an erasure sweeping alert rows either sees this row or is seen here.
        if (await referrals.IsErasedAsync(alert.ReferralId, cancellationToken))
        {
            await ledger.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, ETag.All, CancellationToken.None);
            return AlertOutcome.Erased;
        }

        if (!await quietPeriods.TryOpenAsync(alert.Condition, now, cancellationToken))
        {
            LogCollected(alert.Condition.ToString(), alert.ReferralId);
            return AlertOutcome.Pending;
        }

        // This alert opened the quiet period: claimed before sending, so no digest run can send it as well.
        var claimed = await ledger.ChangeAsync<AlertEntity, bool>(row.PartitionKey, row.RowKey, current =>
        {
            if (current is not { State: AlertEntity.Pending })
            {
                return (null, false);
            }

            current.State = AlertEntity.Claimed;
            current.ClaimedAt = now;
            return (current, true);
        }, cancellationToken, new Known<AlertEntity>(row));
        if (!claimed)
        {
            return AlertOutcome.Pending;
        }

        return await mail.SendAsync(alert.Condition, [row], cancellationToken) ? AlertOutcome.Sent : AlertOutcome.Pending;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Operator alert {Condition} for referral {ReferralId} waits for the digest")]
    private partial void LogCollected(string condition, string referralId);
}
