using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>Each condition's quiet period: the first sender after it ends opens the next one, and only that sender sends.</summary>
public sealed class QuietPeriods(
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    IOptions<AlertOptions> options)
{
    /// <summary>
    /// Opens a quiet period from <paramref name="now"/> unless one is still running. True: the caller is the one who
    /// sends now (an alert, or the digest of what waited). Concurrent callers meet the row's ETag: one of them wins.
    /// </summary>
    public Task<bool> TryOpenAsync(AlertCondition condition, DateTimeOffset now, CancellationToken cancellationToken) =>
        ledger.ChangeAsync<QuietPeriodEntity, bool>(AlertEntity.PartitionFor(condition), QuietPeriodEntity.RowKeyValue, current =>
        {
            if (current?.QuietUntil > now)
            {
                return (null, false);
            }

            var next = current ?? new QuietPeriodEntity { PartitionKey = AlertEntity.PartitionFor(condition) };
            next.QuietUntil = now + options.Value.QuietPeriod;
            return (next, true);
        }, cancellationToken);

    /// <summary>
    /// Ends the quiet period opened at <paramref name="openedAt"/> (if no one has opened a later one), for a digest that
    /// did not go out: what it held is sent at the next digest run, not a whole quiet period later.
    /// </summary>
    public Task EndAsync(AlertCondition condition, DateTimeOffset openedAt, CancellationToken cancellationToken) =>
        ledger.ChangeAsync<QuietPeriodEntity, bool>(AlertEntity.PartitionFor(condition), QuietPeriodEntity.RowKeyValue, current =>
        {
            if (current?.QuietUntil != openedAt + options.Value.QuietPeriod)
            {
                return (null, false);
            }

            current.QuietUntil = openedAt;
            return (current, true);
        }, cancellationToken);
}
