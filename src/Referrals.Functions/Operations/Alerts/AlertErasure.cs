using Azure;
using Azure.Data.Tables;
using Referrals.Core.Email;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// An erased referral's alert rows go with it: they name it (and a pending SLA alert its specialist). One key-range
/// query per condition, since a row's key starts with the referral id.
/// </summary>
public static class AlertErasure
{
    public static async Task DeleteAlertsAboutAsync(this TableClient ledger, string referralId, CancellationToken cancellationToken)
    {
        foreach (var condition in Enum.GetValues<AlertCondition>())
        {
            var partition = AlertEntity.PartitionFor(condition);
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and (RowKey eq {referralId} or (RowKey ge {referralId + "-"} and RowKey lt {referralId + "."}))");
            await foreach (var row in ledger.QueryAsync<TableEntity>(filter, select: [nameof(ITableEntity.RowKey)], cancellationToken: cancellationToken))
            {
                await ledger.DeleteIfPresentAsync(partition, row.RowKey, ETag.All, cancellationToken);
            }
        }
    }
}
