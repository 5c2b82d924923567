using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Email;
using Referrals.Functions.Operations.Alerts;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Privacy;

/// <summary>
/// The second half of an erasure: the rows outside the referral's own partition that were derived from it. Every
/// delete tolerates a row already gone, so a second run (or two at once) is harmless.
/// </summary>
public sealed class DerivedRowsSweep(
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    [FromKeyedServices(StorageNames.IntakeGuardsTable)] TableClient guards,
    [FromKeyedServices(StorageNames.PoisonTable)] TableClient parked)
{
    public async Task DeleteAsync(string referralId, string? guardKeys, CancellationToken cancellationToken)
    {
        await DeleteEmailRecordsAsync(referralId, cancellationToken);
        foreach (var partition in (guardKeys ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await DeleteGuardPartitionAsync(partition, referralId, cancellationToken);
        }

        await foreach (var row in parked.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"ReferralId eq {referralId}"), cancellationToken: cancellationToken))
        {
            await parked.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, Azure.ETag.All, cancellationToken);
        }
    }

    /// <summary>
    /// The referral's rows in the EmailLedger table: operator alerts about it (in the alert partitions) and rows an
    /// older version kept in a partition of its own. (Its emails and their delivery events live in its own partition,
    /// which the erasure's transaction clears.)
    /// </summary>
    private async Task DeleteEmailRecordsAsync(string referralId, CancellationToken cancellationToken)
    {
        await ledger.DeleteAlertsAboutAsync(referralId, cancellationToken);
        await foreach (var row in ledger.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {referralId}"), cancellationToken: cancellationToken))
        {
            if (row.RowKey == nameof(EmailKind.SpecialistWithdrawn) || row.GetString("LedgerKey") == nameof(EmailKind.SpecialistWithdrawn))
            {
                continue;
            }

            await ledger.DeleteIfPresentAsync(row.PartitionKey, row.RowKey, Azure.ETag.All, cancellationToken);
        }
    }

    /// <summary>
    /// Every row of a guard partition derived from this referral. A claim row that names another referral (the same
    /// person's later request took over an expired claim) is theirs and stays; ETags keep a claim taken over while
    /// we look from being deleted.
    /// </summary>
    private async Task DeleteGuardPartitionAsync(string partition, string referralId, CancellationToken cancellationToken)
    {
        await foreach (var row in guards.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken: cancellationToken))
        {
            var current = row;
            for (var attempt = 0; attempt < 5; attempt++)
            {
                if (current.GetString("ReferralId") is { } owner && owner != referralId)
                {
                    break;
                }

                if (await guards.DeleteIfPresentAsync(current.PartitionKey, current.RowKey, current.ETag, cancellationToken))
                {
                    break;
                }

                var reread = await guards.GetEntityIfExistsAsync<TableEntity>(current.PartitionKey, current.RowKey, cancellationToken: cancellationToken);
                if (!reread.HasValue)
                {
                    break;
                }

                current = reread.Value!;
            }
        }
    }
}
