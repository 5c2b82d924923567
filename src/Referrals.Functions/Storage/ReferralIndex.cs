using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;

namespace Referrals.Functions.Storage;

/// <summary>
/// Writes the operators' index (<see cref="IndexedReferral"/>). It is derived data: written after the referral's own
/// transaction with one unconditional merge, never read first, and a failed write is logged and left for the next
/// move to rewrite (every move rewrites every column it owns). The <c>Referrals</c> table client carries its index
/// (<see cref="Attach"/>), so the one place every move goes through, <see cref="ReferralTable"/>, writes it without
/// each caller having to remember.
/// </summary>
public sealed partial class ReferralIndex(
    [FromKeyedServices(StorageNames.ReferralIndexTable)] TableClient index,
    ILogger<ReferralIndex> logger)
{
    private static readonly ConditionalWeakTable<TableClient, ReferralIndex> Attached = [];

    public TableClient Table => index;

    /// <summary>Makes <paramref name="referrals"/> write this index on every move (the composition root does this once).</summary>
    public static TableClient Attach(TableClient referrals, ReferralIndex referralIndex)
    {
        Attached.AddOrUpdate(referrals, referralIndex);
        return referrals;
    }

    /// <summary>The index <paramref name="referrals"/> writes; none for a client made outside the composition root (some tests).</summary>
    public static ReferralIndex? Of(TableClient referrals) => Attached.TryGetValue(referrals, out var found) ? found : null;

    /// <summary>
    /// Every column the referral row decides, the marks of <paramref name="moves"/>, and the outcome of
    /// <paramref name="emails"/>. An erased referral keeps only its reference, status and dates.
    /// </summary>
    public Task WriteAsync(ReferralEntity referral, IEnumerable<StatusChange> moves, IEnumerable<EmailLedgerEntity> emails, CancellationToken cancellationToken)
    {
        var erased = referral.IsErased;
        var row = Keys(referral.PartitionKey, referral.ReceivedAt);
        row["Status"] = referral.Status;
        row["Erased"] = erased;
        row["SpecialistId"] = erased ? "" : referral.AssignedSpecialistId ?? "";
        row["Treatment"] = erased ? "" : referral.Treatment;
        row["Topic"] = erased ? "" : referral.Topic ?? "";
        row["SourcePost"] = erased ? "" : referral.SourcePost ?? "";
        row["Urgent"] = !erased && referral.Urgent;
        if (referral.AssignedAt is { } assignedAt)
        {
            row["AssignedAt"] = assignedAt;
        }

        foreach (var move in moves.Where(m => IndexedReferral.Marked.Contains(m.Status)))
        {
            row[IndexedReferral.MarkColumn(move.Status)] = move.At;
        }

        if (!erased)
        {
            AddEmails(row, emails);
        }

        return MergeAsync(row, cancellationToken);
    }

    /// <summary>Only the outcome of <paramref name="emails"/> (sent without a status change: reminders, alerts, the acceptance).</summary>
    public Task MarkEmailsAsync(string referralId, DateTimeOffset receivedAt, IEnumerable<EmailLedgerEntity> emails, CancellationToken cancellationToken)
    {
        var row = Keys(referralId, receivedAt);
        return AddEmails(row, emails) > 0 ? MergeAsync(row, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>SendGrid reported a bounce, drop or block for one email of the referral.</summary>
    public Task MarkBounceAsync(string referralId, DateTimeOffset receivedAt, string ledgerKey, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var row = Keys(referralId, receivedAt);
        row[IndexedReferral.EmailColumn(IndexedReferral.BouncePrefix, ledgerKey)] = at;
        return MergeAsync(row, cancellationToken);
    }

    /// <summary>
    /// For erasure and retention: the row keeps the reference, the status the erasure left, the dates and the marks
    /// (so counts stay right); treatment, topic, post, specialist, urgency and the emails go. Replaced, not merged, so
    /// no column the erasure does not know of survives. Safe to run again.
    /// </summary>
    public async Task BlankAsync(string referralId, DateTimeOffset receivedAt, string status, CancellationToken cancellationToken)
    {
        var row = Keys(referralId, receivedAt);
        try
        {
            var existing = await index.GetEntityIfExistsAsync<TableEntity>(row.PartitionKey, row.RowKey, cancellationToken: cancellationToken);
            if (existing.HasValue)
            {
                foreach (var mark in IndexedReferral.Marked.Select(IndexedReferral.MarkColumn).Append("AssignedAt"))
                {
                    if (existing.Value!.GetDateTimeOffset(mark) is { } at)
                    {
                        row[mark] = at;
                    }
                }
            }

            row["Status"] = status;
            row["Erased"] = true;
            row["SpecialistId"] = "";
            row["Treatment"] = "";
            row["Topic"] = "";
            row["SourcePost"] = "";
            row["Urgent"] = false;
            await index.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken);
        }
        catch (RequestFailedException e)
        {
            // The erasure fails with it and stays pending (retention finishes it); readers never show an erased row's details.
            LogBlankFailed(e, referralId);
            throw;
        }
    }

    private static TableEntity Keys(string referralId, DateTimeOffset receivedAt) =>
        new(IndexedReferral.PartitionKeyFor(receivedAt), IndexedReferral.RowKeyFor(referralId, receivedAt))
        {
            ["Id"] = referralId,
            ["ReceivedAt"] = receivedAt,
            ["Day"] = IndexedReferral.DayOf(receivedAt),
        };

    private static int AddEmails(TableEntity row, IEnumerable<EmailLedgerEntity> emails)
    {
        var added = 0;
        foreach (var email in emails.Where(e => e.State is not EmailLedgerEntity.Claimed))
        {
            var at = email.SentAt ?? email.ClaimedAt;
            row[IndexedReferral.EmailColumn(IndexedReferral.MailPrefix, email.LedgerKey)] = $"{email.State}|{at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)}";
            added++;
        }

        return added;
    }

    private async Task MergeAsync(TableEntity row, CancellationToken cancellationToken)
    {
        try
        {
            await index.UpsertEntityAsync(row, TableUpdateMode.Merge, cancellationToken);
        }
        catch (RequestFailedException e)
        {
            // The referral's own write is done and is what counts; the next move rewrites this row.
            LogFailed(e, row.GetString("Id") ?? "");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: its operators' index row was not written; the next change rewrites it")]
    private partial void LogFailed(Exception exception, string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: its operators' index row was not blanked; the erasure stays pending")]
    private partial void LogBlankFailed(Exception exception, string referralId);
}
