using System.Globalization;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// Parked messages that have waited longer than Health:PoisonOlderThan (the threshold that makes /api/health
/// degraded) raise one alert each. A watermark row remembers how far it has looked, so each run reads only the
/// messages that crossed the threshold since; a run that fails before moving it only raises again, which adds nothing.
/// </summary>
public sealed class PoisonWaitingCheck(
    [FromKeyedServices(StorageNames.PoisonTable)] TableClient parked,
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    OperatorAlerts alerts,
    IOptions<HealthOptions> health,
    TimeProvider clock)
{
    public const string WatermarkRow = "checked-until";
    private const string CheckedUntil = "CheckedUntil";

    /// <returns>How many alerts were raised for the first time.</returns>
    public async Task<int> CheckAsync(CancellationToken cancellationToken)
    {
        var threshold = health.Value.PoisonOlderThan;
        var cutoff = clock.GetUtcNow() - threshold;
        var partition = AlertEntity.PartitionFor(AlertCondition.PoisonWaiting);
        var watermark = await ledger.GetEntityIfExistsAsync<TableEntity>(partition, WatermarkRow, [CheckedUntil], cancellationToken);
        var from = watermark.HasValue ? watermark.Value!.GetDateTimeOffset(CheckedUntil) : null;
        var waited = threshold.ToString("c", CultureInfo.InvariantCulture);
        var raised = 0;
        var filter = from is { } checkedUntil
            ? TableClient.CreateQueryFilter($"ParkedAt ge {checkedUntil} and ParkedAt lt {cutoff}")
            : TableClient.CreateQueryFilter($"ParkedAt lt {cutoff}");
        await foreach (var row in parked.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.GetString("ReferralId") is not { } referralId)
            {
                continue; // no reference to give: /api/health still says degraded, and the parked list shows it
            }

            var queue = StorageNames.WithoutUrgency(row.PartitionKey);
            var alert = new OperatorAlert(AlertCondition.PoisonWaiting, referralId, queue,
                new Dictionary<string, string> { [AlertWording.Queue] = queue, [AlertWording.Waited] = waited });
            raised += await alerts.RaiseAsync(alert, cancellationToken) is AlertOutcome.Sent or AlertOutcome.Pending ? 1 : 0;
        }

        await ledger.UpsertEntityAsync(new TableEntity(partition, WatermarkRow) { [CheckedUntil] = cutoff }, TableUpdateMode.Replace, cancellationToken);
        return raised;
    }
}
