using Azure;
using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Intake;
using Referrals.Functions.Privacy;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Notifications;

/// <summary>
/// Sends a routed referral's emails. Each kind is recorded in the ledger once SendGrid accepted it, so a redelivered
/// message only sends what is still missing.
/// </summary>
public sealed partial class SendNotifications(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    PipelineQueues queues,
    SpecialistDirectory directory,
    EmailSender sender,
    IntakeGuards guards,
    [FromKeyedServices(StorageNames.IntakeGuardsTable)] TableClient guardRows,
    IOptions<EmailOptions> options,
    KeyedHash hash,
    IOptions<RoutingOptions> routingOptions,
    ReferralLinks links,
    TimeProvider clock,
    ILogger<SendNotifications> logger)
{
    [Function(nameof(SendNotifications))]
    public Task Run(
        [QueueTrigger(StorageNames.NotificationQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken) =>
        SendAsync(message, cancellationToken);

    /// <summary>Its own trigger, so an urgent referral's alert never waits behind a backlog of ordinary emails.</summary>
    [Function("SendUrgentNotifications")]
    public Task RunUrgent(
        [QueueTrigger(StorageNames.UrgentNotificationQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken) =>
        SendAsync(message, cancellationToken);

    private async Task SendAsync(ReferralMessage message, CancellationToken cancellationToken)
    {
        // The withdrawal notice is about an erased referral, which no longer names its specialist: the message does.
        // The exception names no referral: a failure is logged next to the queue's name, which says urgent.
        var referral = message.WithdrawnSpecialistId is null
            ? await referrals.FindReferralAsync(message.ReferralId, cancellationToken) ?? throw new InvalidOperationException("The referral named in the message does not exist.")
            : null;
        if (referral is { IsErased: true })
        {
            LogErased(message.ReferralId);
            return;
        }

        try
        {
            var emails = referral is null ? await WithdrawalNoticeAsync(message, cancellationToken)
                : message.DuplicateId is { } duplicateId ? ComposeDuplicateNotice(referral, duplicateId)
                : await ComposeAsync(referral, cancellationToken);
            foreach (var email in emails)
            {
                if (!await SendOnceAsync(message.ReferralId, email, cancellationToken))
                {
                    LogErased(message.ReferralId);
                    return;
                }
            }
        }
        catch (ComeBackLaterException later)
        {
            // Not a fault (a rate limit, or a claim held by another sender): come back then, without spending one of
            // the message's dequeue attempts. Queue visibility counts whole seconds: round up, never come back early.
            var wait = TimeSpan.FromSeconds(Math.Max(0, Math.Ceiling((later.At - clock.GetUtcNow()).TotalSeconds)));
            await queues.Notifications(referral?.Urgent == true).SendMessageAsync(
                System.Text.Json.JsonSerializer.Serialize(message, System.Text.Json.JsonSerializerOptions.Web),
                wait,
                cancellationToken: cancellationToken);
            LogComeBackLater(message.ReferralId, later.At);
            return;
        }

        if (message.DuplicateId is null && referral?.ToCase() is { } emailed && emailed.MarkEmailed(clock.GetUtcNow()))
        {
            await referrals.SaveAsync(referral, emailed, cancellationToken);
        }
    }

    /// <summary>
    /// The send ledger: a row is claimed before sending and completed after SendGrid's 202, so a redelivered message
    /// skips what was sent. A fresh claim means another invocation is sending right now; a stale one (its sender died
    /// mid-send) is taken over. The window left: SendGrid accepted but the completion write failed (see the README).
    /// Every write here derives from the referral, so each is followed by an erasure check (see ErasureChecks); false
    /// means the referral was erased meanwhile, what was written is taken back, and nothing more may be sent.
    /// </summary>
    private async Task<bool> SendOnceAsync(string referralId, EmailMessage email, CancellationToken cancellationToken)
    {
        // The withdrawal notice is the one email meant to go after an erasure.
        var guarded = email.Kind != EmailKind.SpecialistWithdrawn;
        var now = clock.GetUtcNow();
        var existing = await ledger.GetEntityIfExistsAsync<EmailLedgerEntity>(referralId, email.LedgerKey, cancellationToken: cancellationToken);
        var row = existing.HasValue ? existing.Value! : new EmailLedgerEntity { PartitionKey = referralId, RowKey = email.LedgerKey };
        if (row.State is EmailLedgerEntity.Sent or EmailLedgerEntity.Suppressed)
        {
            return true;
        }

        if (row.State == EmailLedgerEntity.Claimed && row.ClaimedAt > now - ClaimTimeout)
        {
            // Another invocation is sending it, or died mid-send: look again once its claim has run out.
            throw new ComeBackLaterException(row.ClaimedAt + ClaimTimeout);
        }

        // At most a few confirmations a day to one address, so the form cannot be used to flood someone's inbox.
        // Counted once per email, not once per attempt.
        var suppressed = false;
        string? counter = null;
        if (email.Kind is (EmailKind.VisitorConfirmation or EmailKind.DuplicateNotice) && !row.CapCounted)
        {
            counter = IntakeKeys.Confirmation(hash, email.ToAddress);
            suppressed = !await guards.CountConfirmationAsync(counter, cancellationToken);
            row.CapCounted = true;
        }

        row.State = suppressed ? EmailLedgerEntity.Suppressed : EmailLedgerEntity.Claimed;
        row.ClaimedAt = now;
        var claim = existing.HasValue
            ? await ledger.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken)
            : await ledger.AddEntityAsync(row, cancellationToken);
        row.ETag = claim.Headers.ETag ?? row.ETag;
        if (guarded && await referrals.IsErasedAsync(referralId, cancellationToken))
        {
            await UndoAsync(referralId, email.LedgerKey, null, counter);
            return false;
        }

        if (!suppressed)
        {
            try
            {
                row.ProviderMessageId = await sender.SendAsync(email, cancellationToken);
            }
            catch
            {
                // Mark the attempt failed so the retry is not mistaken for a concurrent sender.
                row.State = EmailLedgerEntity.Failed;
                await ledger.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, CancellationToken.None);
                throw;
            }

            row.State = EmailLedgerEntity.Sent;
            row.SentAt = clock.GetUtcNow();
            try
            {
                await ledger.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
                if (row.ProviderMessageId is { } messageId)
                {
                    // Delivery events name SendGrid's message id: index it to find this email again.
                    await ledger.UpsertEntityAsync(
                        new TableEntity(EmailLedgerEntity.MessageIndexKey(messageId), "") { ["ReferralId"] = referralId, ["LedgerKey"] = email.LedgerKey, ["At"] = row.SentAt },
                        TableUpdateMode.Replace, cancellationToken);
                }
            }
            catch (RequestFailedException e) when (guarded && e.Status == 404)
            {
                // The claim is gone: an erasure swept it while SendGrid had the email. The check below confirms it.
            }

            if (guarded && await referrals.IsErasedAsync(referralId, cancellationToken))
            {
                await UndoAsync(referralId, email.LedgerKey, row.ProviderMessageId, counter);
                return false;
            }
        }

        if (email.Kind != EmailKind.UrgentAlert)
        {
            // The alert is not logged: its kind next to the reference would say the person is at risk. The ledger has it.
            LogSent(referralId, email.Kind, suppressed);
        }
        return true;
    }

    /// <summary>Takes back what one send wrote for a referral erased meanwhile; the erasure may have deleted some of it already.</summary>
    private async Task UndoAsync(string referralId, string ledgerKey, string? messageId, string? counterPartition)
    {
        await ledger.DeleteIfPresentAsync(referralId, ledgerKey, ETag.All, CancellationToken.None);
        if (messageId is not null)
        {
            await ledger.DeleteIfPresentAsync(EmailLedgerEntity.MessageIndexKey(messageId), "", ETag.All, CancellationToken.None);
        }

        if (counterPartition is not null)
        {
            await guardRows.DeletePartitionAsync(counterPartition, CancellationToken.None);
        }
    }

    private async Task<IReadOnlyList<EmailMessage>> WithdrawalNoticeAsync(ReferralMessage message, CancellationToken cancellationToken)
    {
        if (await directory.FindAsync(message.WithdrawnSpecialistId!, cancellationToken) is not { } specialist)
        {
            LogNoSpecialist(message.ReferralId, message.WithdrawnSpecialistId!);
            return [];
        }

        return [EmailContent.SpecialistWithdrawn(message.ReferralId, specialist.Email, specialist.Name)];
    }

    /// <summary>Longer than one invocation's longest send: 2 attempts × 10 s timeout, backoff and a 10 s rate-limit wait.</summary>
    private static readonly TimeSpan ClaimTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The emails the referral's current state calls for; the ledger filters out those already sent.</summary>
    private async Task<IReadOnlyList<EmailMessage>> ComposeAsync(ReferralEntity entity, CancellationToken cancellationToken)
    {
        var referral = entity.ToReferral();
        if (referral.Status is ReferralStatus.Withdrawn or ReferralStatus.Duplicate)
        {
            return []; // withdrawn and erased, or a repeat's stub: nobody is emailed about it
        }

        var privacyUrl = Privacy.PrivacyNotice.UrlFor(routingOptions.Value.PublicBaseUrl);
        var emails = new List<EmailMessage>();
        if (entity.Urgent)
        {
            // First, so that nothing else in this message (a held claim, a slow send) delays it.
            emails.Add(EmailContent.UrgentAlert(referral.Id, routingOptions.Value.OperatorsAddress, links.ReviewUrl(referral.Id)));
        }

        emails.Add(EmailContent.VisitorConfirmation(referral, links.WithdrawUrl(referral.Id), privacyUrl));
        var specialist = entity.AssignedSpecialistId is { } specialistId
            ? await directory.FindAsync(specialistId, cancellationToken)
                ?? throw new InvalidOperationException($"Specialist {specialistId}, assigned to the referral in the message, is no longer in the directory.")
            : null;
        switch (referral.Status)
        {
            case ReferralStatus.Routed or ReferralStatus.Notified when specialist is not null:
                var respondUrl = links.RespondUrl(referral.Id, specialist.Id, entity.Assignment);
                emails.Add(EmailContent.SpecialistNewReferral(referral, specialist.Email, specialist.Name, entity.Assignment, respondUrl,
                    (entity.AssignedAt ?? clock.GetUtcNow()) + routingOptions.Value.ReminderAfterFor(entity.Urgent)));
                if (entity.ReminderForAssignment == entity.Assignment)
                {
                    emails.Add(EmailContent.SpecialistReminder(referral, specialist.Email, specialist.Name, entity.Assignment, respondUrl));
                }

                break;
            case ReferralStatus.Accepted when specialist is not null:
                emails.Add(EmailContent.VisitorAccepted(referral, specialist.Name, entity.ContactMethod, privacyUrl));
                break;
            case ReferralStatus.NeedsTriage:
                emails.Add(EmailContent.TriageNotice(referral, options.Value.TriageAddress, links.TriageUrl(referral.Id, entity.Assignment)));
                break;
        }

        if (entity.TimedOutAssignment > 0 && entity.TimedOutSpecialistId is { } silent)
        {
            emails.Add(EmailContent.OperatorSlaAlert(referral, routingOptions.Value.OperatorsAddress, silent, entity.TimedOutAssignment));
        }

        return emails;
    }

    /// <summary>
    /// "We already have your request": to the owner of a live referral that someone sent the form again for, once per
    /// repeat (the ledger key names the repeat's stub), and within the address's daily cap like a confirmation.
    /// </summary>
    private IReadOnlyList<EmailMessage> ComposeDuplicateNotice(ReferralEntity owner, string duplicateId) =>
        owner.CurrentStatus is ReferralStatus.Withdrawn or ReferralStatus.Duplicate || !ReferralId.IsWellFormed(duplicateId)
            ? []
            : [EmailContent.DuplicateNotice(owner.ToReferral(), duplicateId, links.WithdrawUrl(owner.PartitionKey))];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: notifications queued again for {At:u} (rate limit or a claim held elsewhere)")]
    private partial void LogComeBackLater(string referralId, DateTimeOffset at);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} is erased: nothing more is sent about it")]
    private partial void LogErased(string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: specialist {SpecialistId} is no longer in the directory; no withdrawal notice sent")]
    private partial void LogNoSpecialist(string referralId, string specialistId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId}: {Kind} email done (suppressed by the daily cap: {Suppressed})")]
    private partial void LogSent(string referralId, EmailKind kind, bool suppressed);
}
