using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Notifications;

/// <summary>
/// The send ledger, kept in each referral's partition: one read brings the referral, its email rows and the delivery
/// events that name an attempt; one transaction claims every email a message sends (with the referral row's ETag,
/// so nothing is claimed behind an erasure); one transaction completes them (with the status change they finish).
/// </summary>
public sealed class EmailLedger([FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals)
{
    public sealed record Partition(ReferralEntity? Referral, IReadOnlyDictionary<string, EmailLedgerEntity> Emails, IReadOnlySet<string> ReportedSendIds);

    public async Task<Partition> ReadAsync(string referralId, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {referralId} and (RowKey eq {ReferralEntity.RowKeyValue} or (RowKey ge {EmailLedgerEntity.RowKeyPrefix} and RowKey lt {"email."}) or (RowKey ge {EmailLedgerEntity.EventRowPrefix} and RowKey lt {"event."}))");
        ReferralEntity? referral = null;
        var emails = new Dictionary<string, EmailLedgerEntity>(StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in referrals.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == ReferralEntity.RowKeyValue)
            {
                referral = row.As<ReferralEntity>();
            }
            else if (row.RowKey.StartsWith(EmailLedgerEntity.RowKeyPrefix, StringComparison.Ordinal))
            {
                var email = row.As<EmailLedgerEntity>();
                emails[email.LedgerKey] = email;
            }
            else if (row.GetString(SendGridEvents.SendIdArg) is { Length: > 0 } sendId)
            {
                reported.Add(sendId);
            }
        }

        return new Partition(referral, emails, reported);
    }

    /// <summary>
    /// Writes <paramref name="claims"/> (new rows added, read rows replaced with their ETags) together with an ETag
    /// check on the referral row (a merge that changes nothing), unless <paramref name="referral"/> is null. Returns
    /// false when another writer got there first (read again and decide again); the rows then hold their new ETags.
    /// </summary>
    public async Task<bool> TryWriteAsync(ReferralEntity? referral, IReadOnlyList<(EmailLedgerEntity Row, bool IsNew)> claims, CancellationToken cancellationToken)
    {
        var actions = new List<TableTransactionAction>();
        if (referral is not null)
        {
            actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(referral.PartitionKey, ReferralEntity.RowKeyValue), referral.ETag));
        }

        actions.AddRange(claims.Select(c => c.IsNew
            ? new TableTransactionAction(TableTransactionActionType.Add, c.Row)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, c.Row, c.Row.ETag)));
        try
        {
            var responses = (await referrals.SubmitTransactionAsync(actions, cancellationToken)).Value;
            var offset = 0;
            if (referral is not null)
            {
                referral.ETag = responses[0].Headers.ETag ?? referral.ETag;
                offset = 1;
            }

            for (var i = 0; i < claims.Count; i++)
            {
                claims[i].Row.ETag = responses[i + offset].Headers.ETag ?? claims[i].Row.ETag;
            }

            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
        {
            return false;
        }
    }

    /// <summary>Records how the attempts ended, with the referral's status change when they finish its notification.</summary>
    public async Task<bool> CompleteAsync(ReferralEntity? referral, Core.Referrals.ReferralCase? change, IReadOnlyList<EmailLedgerEntity> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0 && change is null)
        {
            return true;
        }

        try
        {
            if (referral is not null && change is not null)
            {
                await referrals.SaveAsync(referral, change, rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpdateReplace, r, r.ETag)), cancellationToken);
            }
            else
            {
                await referrals.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpdateReplace, r, r.ETag)), cancellationToken);
                await IndexAsync(referral, rows, cancellationToken);
            }

            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
        {
            return false;
        }
    }

    /// <summary>
    /// Emails finished without a move (a move's save writes them itself): the operators' index learns their outcome.
    /// Only after a conflict is the referral not at hand; then it is read for its received time, and an erased one skipped.
    /// </summary>
    private async Task IndexAsync(ReferralEntity? referral, IReadOnlyList<EmailLedgerEntity> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0 || ReferralIndex.Of(referrals) is not { } index)
        {
            return;
        }

        referral ??= Core.Referrals.ReferralId.IsWellFormed(rows[0].PartitionKey) ? await referrals.FindReferralAsync(rows[0].PartitionKey, cancellationToken) : null;
        if (referral is { IsErased: false })
        {
            await index.MarkEmailsAsync(referral.PartitionKey, referral.ReceivedAt, rows, cancellationToken);
        }
    }
}
