using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// Intake's shared state in Table Storage, so it holds across Functions instances: rate-limit windows, idempotency
/// keys, dedupe claims and counters. Only keyed hashes are stored, never the addresses or emails themselves.
/// </summary>
public sealed class IntakeGuards(
    [FromKeyedServices(StorageNames.IntakeGuardsTable)] TableClient table,
    IOptions<IntakeOptions> options,
    TimeProvider clock)
{
    public sealed record RateDecision(bool Allowed, TimeSpan RetryAfter);

    /// <summary>Counts one submission for the client in the current clock hour.</summary>
    public async Task<RateDecision> CountSubmissionAsync(string clientHash, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var count = await IncrementAsync($"rate-{clientHash}", hour.ToString("yyyyMMddHH", CultureInfo.InvariantCulture), cancellationToken);
        var retryAfter = hour.AddHours(1) - now;
        return new RateDecision(count <= options.Value.RateLimitPerHour, retryAfter);
    }

    /// <summary>Counts a confirmation email for an address today; false once the day's allowance is used up.</summary>
    public async Task<bool> CountConfirmationAsync(string emailHash, CancellationToken cancellationToken)
    {
        var day = clock.GetUtcNow().ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        return await IncrementAsync(ConfirmationPartition(emailHash), day, cancellationToken) <= options.Value.ConfirmationsPerDay;
    }

    public static string ConfirmationPartition(string emailHash) => $"confirm-{emailHash}";

    public static string DedupePartition(string dedupeHash) => $"dedupe-{dedupeHash}";

    /// <summary>Counts a submission dropped as spam, by reason and day, for operators.</summary>
    public Task<int> CountSpamAsync(string reason, CancellationToken cancellationToken) =>
        IncrementAsync($"spam-{reason}", clock.GetUtcNow().ToString("yyyyMMdd", CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>Claims an Idempotency-Key for a new referral id; returns the id it was first used for, if any.</summary>
    public async Task<string?> ClaimIdempotencyKeyAsync(string keyHash, string referralId, CancellationToken cancellationToken)
    {
        var claim = new TableEntity($"idem-{keyHash}", "") { ["ReferralId"] = referralId, ["ClaimedAt"] = clock.GetUtcNow() };
        try
        {
            await table.AddEntityAsync(claim, cancellationToken);
            return null;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return (await table.GetEntityAsync<TableEntity>(claim.PartitionKey, "", cancellationToken: cancellationToken)).Value.GetString("ReferralId");
        }
    }

    /// <summary>
    /// Claims "this email asked about this treatment" for a new referral id. Returns the existing referral's id while an
    /// earlier claim is inside the dedupe window; an expired claim is taken over (ETag-guarded against a racing claim).
    /// </summary>
    public async Task<string?> ClaimDedupeAsync(string dedupeHash, string referralId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var claim = new TableEntity(DedupePartition(dedupeHash), "") { ["ReferralId"] = referralId, ["ClaimedAt"] = now };
        while (true)
        {
            try
            {
                await table.AddEntityAsync(claim, cancellationToken);
                return null;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                var existing = (await table.GetEntityAsync<TableEntity>(claim.PartitionKey, "", cancellationToken: cancellationToken)).Value;
                if (existing.GetDateTimeOffset("ClaimedAt") > now - options.Value.DedupeWindow)
                {
                    return existing.GetString("ReferralId");
                }

                try
                {
                    await table.UpdateEntityAsync(claim, existing.ETag, TableUpdateMode.Replace, cancellationToken);
                    return null;
                }
                catch (RequestFailedException conflict) when (conflict.Status == 412)
                {
                    // Someone else took the expired claim first: read it again.
                }
            }
        }
    }

    /// <summary>Adds one to a counter row, retrying on ETag conflicts with concurrent writers; returns the new count.</summary>
    public async Task<int> IncrementAsync(string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        while (true)
        {
            var existing = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken);
            try
            {
                if (!existing.HasValue)
                {
                    await table.AddEntityAsync(new TableEntity(partitionKey, rowKey) { ["Count"] = 1 }, cancellationToken);
                    return 1;
                }

                var row = existing.Value!;
                var count = (row.GetInt32("Count") ?? 0) + 1;
                row["Count"] = count;
                await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
                return count;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // A concurrent writer got there first; read the new value and try again.
            }
        }
    }
}
