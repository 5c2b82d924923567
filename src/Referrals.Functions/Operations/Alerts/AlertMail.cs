using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Functions.Notifications;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// Sends claimed alerts of one condition: one alert on its own, several as one digest. Then records the outcome on
/// every row: Sent (facts dropped); Pending again when SendGrid surely did not take it (refused, down, or the rate
/// gate closed), for the digest timer; left Claimed when the outcome is unknown, to be sent again after the claim
/// timeout rather than never.
/// </summary>
public sealed partial class AlertMail(
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    EmailSender sender,
    IOptions<RoutingOptions> routing,
    IOptions<AlertOptions> options,
    TimeProvider clock,
    ILogger<AlertMail> logger)
{
    /// <summary>A table transaction holds at most 100 actions.</summary>
    private const int BatchSize = 100;

    /// <summary>Where operators open a referral: the dashboard, which asks for their key itself.</summary>
    public string DashboardLink(string referralId) => $"{routing.Value.PublicBaseUrl.TrimEnd('/')}/api/ops#referral={Uri.EscapeDataString(referralId)}";

    public EmailMessage Compose(AlertCondition condition, IReadOnlyList<AlertEntity> claimed)
    {
        var operators = routing.Value.OperatorsAddress;
        if (claimed.Count == 1)
        {
            var row = claimed[0];
            return EmailContent.OperatorAlert(condition, row.ReferralId, $"{condition}-{row.RowKey}", operators, row.FactValues(), DashboardLink(row.ReferralId), options.Value.QuietPeriod);
        }

        var entries = claimed.OrderBy(r => r.RaisedAt).ThenBy(r => r.RowKey, StringComparer.Ordinal)
            .Select(r => new AlertDigestEntry(r.ReferralId, r.FactValues().GetValueOrDefault(AlertWording.Queue), DashboardLink(r.ReferralId)))
            .ToList();
        var key = $"{condition}-digest-{clock.GetUtcNow().ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture)}";
        return EmailContent.OperatorAlertDigest(condition, key, operators, entries);
    }

    /// <returns>Whether SendGrid accepted it.</returns>
    public async Task<bool> SendAsync(AlertCondition condition, IReadOnlyList<AlertEntity> claimed, CancellationToken cancellationToken)
    {
        var email = Compose(condition, claimed);
        try
        {
            await sender.SendAsync(email, cancellationToken);
        }
        catch (SendOutcomeUnknownException e)
        {
            LogUnknown(e, condition.ToString(), claimed.Count);
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogNotSent(e, condition.ToString(), claimed.Count);
            await WriteAsync(claimed.Select(r => Released(r)), CancellationToken.None);
            return false;
        }

        var now = clock.GetUtcNow();
        await WriteAsync(claimed.Select(r => Done(r, email.LedgerKey, now)), CancellationToken.None);
        LogSent(condition.ToString(), claimed.Count, claimed[0].ReferralId);
        return true;
    }

    /// <summary>Claims rows of one partition for this sender, in transactions of at most 100 (the caller holds the quiet period).</summary>
    public async Task ClaimAsync(IReadOnlyList<AlertEntity> rows, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var row in rows)
        {
            row.State = AlertEntity.Claimed;
            row.ClaimedAt = now;
        }

        await WriteAsync(rows, cancellationToken);
    }

    private static AlertEntity Released(AlertEntity row)
    {
        row.State = AlertEntity.Pending;
        row.ClaimedAt = null;
        return row;
    }

    private static AlertEntity Done(AlertEntity row, string sentAs, DateTimeOffset at) => new()
    {
        PartitionKey = row.PartitionKey, RowKey = row.RowKey, ReferralId = row.ReferralId, Scope = row.Scope,
        RaisedAt = row.RaisedAt, ClaimedAt = row.ClaimedAt, State = AlertEntity.Sent, SentAt = at, SentAs = sentAs,
    };

    /// <summary>Replaces the rows as given (no ETag: the caller holds them through the quiet period or its own claim).</summary>
    private async Task WriteAsync(IEnumerable<AlertEntity> rows, CancellationToken cancellationToken)
    {
        foreach (var batch in rows.Chunk(BatchSize))
        {
            var actions = batch.Select(r => new TableTransactionAction(TableTransactionActionType.UpdateReplace, r, ETag.All));
            var responses = (await ledger.SubmitTransactionAsync(actions, cancellationToken)).Value;
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i].ETag = responses[i].Headers.ETag ?? batch[i].ETag;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Operator alert {Condition} sent for {Count} referral(s), first {ReferralId}")]
    private partial void LogSent(string condition, int count, string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operator alert {Condition} for {Count} referral(s) not sent; the digest timer tries again")]
    private partial void LogNotSent(Exception exception, string condition, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operator alert {Condition} for {Count} referral(s): SendGrid's answer is unknown; sent again after the claim timeout")]
    private partial void LogUnknown(Exception exception, string condition, int count);
}
