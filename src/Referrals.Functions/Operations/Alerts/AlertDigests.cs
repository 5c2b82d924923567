using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// At the end of a condition's quiet period, sends what waited as one email (a digest, or the alert itself when only
/// one waited), including alerts whose send failed earlier. Reopening the quiet period is the claim: of two runs at
/// once only one sends, and a run repeated after a success finds nothing due.
/// </summary>
public sealed class AlertDigests(
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    QuietPeriods quietPeriods,
    AlertMail mail,
    IOptions<AlertOptions> options,
    TimeProvider clock)
{
    /// <returns>Per condition, how many alerts went out in this run.</returns>
    public async Task<IReadOnlyDictionary<AlertCondition, int>> SendDueAsync(CancellationToken cancellationToken)
    {
        var sent = new Dictionary<AlertCondition, int>();
        foreach (var condition in Enum.GetValues<AlertCondition>())
        {
            sent[condition] = await SendDueAsync(condition, cancellationToken);
        }

        return sent;
    }

    private async Task<int> SendDueAsync(AlertCondition condition, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var partition = AlertEntity.PartitionFor(condition);
        DateTimeOffset? quietUntil = null;
        var due = new List<AlertEntity>();
        // One query: the quiet period row and every alert not yet sent (sent rows stay until retention).
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and (RowKey eq {QuietPeriodEntity.RowKeyValue} or State eq {AlertEntity.Pending} or State eq {AlertEntity.Claimed})");
        await foreach (var row in ledger.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == QuietPeriodEntity.RowKeyValue)
            {
                quietUntil = row.GetDateTimeOffset(nameof(QuietPeriodEntity.QuietUntil));
            }
            else if (row.GetString(nameof(AlertEntity.ReferralId)) is { Length: > 0 } && row.As<AlertEntity>() is var alert && alert.IsDue(now, options.Value.ClaimTimeout))
            {
                alert.ETag = row.ETag;
                due.Add(alert);
            }
        }

        if (due.Count == 0 || quietUntil > now || !await quietPeriods.TryOpenAsync(condition, now, cancellationToken))
        {
            return 0;
        }

        await mail.ClaimAsync(due, now, cancellationToken);
        if (await mail.SendAsync(condition, due, cancellationToken))
        {
            return due.Count;
        }

        // Refused or unknown: a refused digest goes again at the next run (its rows are Pending again), so every alert
        // still reaches operators within five minutes; an unknown one waits for its claim timeout either way.
        await quietPeriods.EndAsync(condition, now, CancellationToken.None);
        return 0;
    }
}
