using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Security;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// Intake's shared state in Table Storage, so it holds across Functions instances: rate-limit windows, idempotency
/// keys, dedupe claims and counters. Only keyed hashes are stored, never the addresses or emails themselves.
/// Claims are written only after the referral they name is stored (see IntakeService).
/// </summary>
public sealed class IntakeGuards(
    [FromKeyedServices(StorageNames.IntakeGuardsTable)] TableClient table,
    IOptions<IntakeOptions> options,
    TimeProvider clock)
{
    /// <param name="Count">The submissions counted in the window, this one included when allowed.</param>
    public sealed record RateDecision(bool Allowed, TimeSpan RetryAfter, int Count = 0);

    /// <summary>Counts one submission for the client in the current clock hour.</summary>
    public async Task<RateDecision> CountSubmissionAsync(string clientHash, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var count = await IncrementAsync($"rate-{clientHash}", hour.ToString("yyyyMMddHH", CultureInfo.InvariantCulture), cancellationToken);
        var retryAfter = hour.AddHours(1) - now;
        return new RateDecision(count <= options.Value.RateLimitPerHour, retryAfter);
    }

    public const string EmailLimitMessage =
        "We have already received several requests from this email address today. Please send again tomorrow, or reply to one of our emails if something needs to change.";

    /// <summary>
    /// Counts a submission for an email address today (UTC), unless the day's allowance is used up: then nothing is
    /// counted and the answer says when the next day starts. Only accepted submissions use the allowance.
    /// </summary>
    public async Task<RateDecision> CountEmailSubmissionAsync(string emailLimitKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var (allowed, counted) = await table.ChangeAsync<TableEntity, (bool, int)>(emailLimitKey, today.ToString("yyyyMMdd", CultureInfo.InvariantCulture), row =>
        {
            var count = row?.GetInt32("Count") ?? 0;
            if (count >= options.Value.SubmissionsPerEmailPerDay)
            {
                return (null, (false, count));
            }

            var write = row ?? new TableEntity(emailLimitKey, today.ToString("yyyyMMdd", CultureInfo.InvariantCulture));
            write["Count"] = count + 1;
            return (write, (true, count + 1));
        }, cancellationToken, Known<TableEntity>.Absent);
        return new RateDecision(allowed, today.AddDays(1) - now, counted);
    }

    /// <summary>
    /// Whether the submission counted <paramref name="emailCount"/>-th today for its address may still be confirmed (by
    /// a confirmation or a repeat notice). Each submission brings at most one of those, so the per-email count decides
    /// the cap at intake, and sending needs no counter of its own.
    /// </summary>
    public bool MayConfirm(int emailCount) => emailCount <= options.Value.ConfirmationsPerDay;

    /// <summary>Counts a submission dropped as spam, by reason and day, for operators.</summary>
    public Task<int> CountSpamAsync(string reason, CancellationToken cancellationToken) =>
        IncrementAsync($"spam-{reason}", clock.GetUtcNow().ToString("yyyyMMdd", CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>A claim row: which referral holds a key, since when, and (for idempotency keys) the hash of its submission.</summary>
    public sealed record Claim(string ReferralId, string? SubmissionHash, DateTimeOffset ClaimedAt, ETag ETag);

    public async Task<Claim?> FindClaimAsync(string partitionKey, CancellationToken cancellationToken)
    {
        var row = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, "", cancellationToken: cancellationToken);
        return row.HasValue ? ToClaim(row.Value!) : null;
    }

    /// <summary>
    /// Writes the claim for <paramref name="referralId"/>: a new row, or over <paramref name="replacing"/> (ETag-guarded,
    /// for a claim the caller judged stale). Returns null once written; otherwise the claim another writer holds now.
    /// </summary>
    public async Task<Claim?> TryClaimAsync(string partitionKey, string referralId, string? submissionHash, DateTimeOffset claimedAt, Claim? replacing, CancellationToken cancellationToken)
    {
        var row = new TableEntity(partitionKey, "") { ["ReferralId"] = referralId, ["ClaimedAt"] = claimedAt };
        if (submissionHash is not null)
        {
            row["SubmissionHash"] = submissionHash;
        }

        while (true)
        {
            try
            {
                if (replacing is null)
                {
                    await table.AddEntityAsync(row, cancellationToken);
                }
                else
                {
                    await table.UpdateEntityAsync(row, replacing.ETag, TableUpdateMode.Replace, cancellationToken);
                }

                return null;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 or 404)
            {
                // Someone else wrote (or removed) the claim first: report theirs, or try again if there is none now.
                if (await FindClaimAsync(partitionKey, cancellationToken) is { } current)
                {
                    return current;
                }

                replacing = null;
            }
        }
    }

    private static Claim ToClaim(TableEntity row) =>
        new(row.GetString("ReferralId") ?? "", row.GetString("SubmissionHash"), row.GetDateTimeOffset("ClaimedAt") ?? DateTimeOffset.MinValue, row.ETag);

    /// <summary>
    /// Adds one to a counter row (concurrent writers meet through <see cref="OptimisticConcurrency"/>); returns the new
    /// count. The first attempt decides on the row this instance last wrote (a busy client's hour), or else assumes
    /// the row is new (counters are keyed by hour or day): either way one write, and only a conflict costs a read.
    /// </summary>
    public async Task<int> IncrementAsync(string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        var key = (partitionKey, rowKey);
        var known = lastWritten.TryGetValue(key, out var row) ? new Known<TableEntity>(new TableEntity(row) { ETag = row.ETag }) : Known<TableEntity>.Absent;
        TableEntity? written = null;
        var count = await table.ChangeAsync<TableEntity, int>(partitionKey, rowKey, current =>
        {
            var count = (current?.GetInt32("Count") ?? 0) + 1;
            written = current ?? new TableEntity(partitionKey, rowKey);
            written["Count"] = count;
            return (written, count);
        }, cancellationToken, known);
        if (lastWritten.Count >= MaxRemembered)
        {
            lastWritten.Clear(); // a bound, not a policy: forgetting costs one read on the next conflict
        }

        lastWritten[key] = written!;
        return count;
    }

    private const int MaxRemembered = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string), TableEntity> lastWritten = new();
}
