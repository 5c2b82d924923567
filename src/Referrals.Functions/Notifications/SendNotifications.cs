using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Observability;
using Referrals.Functions.Operations.Alerts;
using Referrals.Functions.Routing;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Notifications;

/// <summary>
/// Sends a referral's emails. The ledger rows live in the referral's partition: one read brings the referral and its
/// rows, one transaction claims what this message sends (checked against the referral's ETag, so an erasure always
/// wins), and one records how it went together with the status change. A redelivered message only sends what is still
/// missing; an attempt whose outcome is unknown is sent again only if SendGrid's Event Webhook reported nothing for it.
/// </summary>
public sealed partial class SendNotifications(
    EmailLedger ledger,
    EmailsCalledFor calledFor,
    PipelineQueues queues,
    EmailSender sender,
    OperatorAlerts alerts,
    IOptions<EmailOptions> options,
    TimeProvider clock,
    ILogger<SendNotifications> logger,
    QueueConsumer? telemetry = null)
{
    /// <summary>Custom args on every send; delivery events carry them back.</summary>
    public const string ReferralIdArg = "referral_id";
    public const string LedgerKeyArg = "ledger_key";

    private const int MaxClaimAttempts = 10;

    /// <summary>
    /// Attempts of one email that may end unknown and wait for the webhook without spending one of the message's
    /// dequeue attempts; after that, an unknown outcome counts as a failure, so a SendGrid that never answers in time
    /// ends in the poison queue instead of holding the message for ever.
    /// </summary>
    private const int MaxHeldAttempts = 3;

    [Function(nameof(SendNotifications))]
    public Task Run(
        [QueueTrigger(StorageNames.NotificationQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken,
        DateTimeOffset? insertionTime = null) =>
        telemetry.ConsumeAsync(StorageNames.NotificationQueue, "notify", message, insertionTime, () => SendAsync(message, cancellationToken));

    /// <summary>Its own trigger, so an urgent referral's alert never waits behind a backlog of ordinary emails.</summary>
    [Function("SendUrgentNotifications")]
    public Task RunUrgent(
        [QueueTrigger(StorageNames.UrgentNotificationQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken,
        DateTimeOffset? insertionTime = null) =>
        telemetry.ConsumeAsync(StorageNames.UrgentNotificationQueue, "notify", message, insertionTime, () => SendAsync(message, cancellationToken));

    private async Task SendAsync(ReferralMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await SendOnceAsync(message, cancellationToken);
        }
        catch (ComeBackLaterException later)
        {
            // Not a fault (a rate limit, a claim held by another sender, an outcome not known yet): come back then,
            // without spending one of the message's dequeue attempts. Queue visibility counts whole seconds: round
            // up, never come back early.
            var wait = TimeSpan.FromSeconds(Math.Max(0, Math.Ceiling((later.At - clock.GetUtcNow()).TotalSeconds)));
            await queues.Notifications(later is HeldException { Urgent: true }).SendMessageAsync(
                System.Text.Json.JsonSerializer.Serialize(message with { HeldBack = wait }, System.Text.Json.JsonSerializerOptions.Web),
                wait,
                cancellationToken: cancellationToken);
            LogComeBackLater(message.ReferralId, later.At);
        }
    }

    private async Task SendOnceAsync(ReferralMessage message, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var partition = await ledger.ReadAsync(message.ReferralId, cancellationToken);
            // The withdrawal notice is about an erased referral, which no longer names its specialist: the message does.
            // The exception names no referral: a failure is logged next to the queue's name, which says urgent.
            var referral = message.WithdrawnSpecialistId is null
                ? partition.Referral ?? throw new InvalidOperationException("The referral named in the message does not exist.")
                : null;
            if (referral is { IsErased: true })
            {
                LogErased(message.ReferralId);
                return;
            }

            var emails = referral is null ? await calledFor.WithdrawalNoticeAsync(message.ReferralId, message.WithdrawnSpecialistId!, cancellationToken)
                : message.DuplicateId is { } duplicateId ? calledFor.DuplicateNotice(referral, duplicateId)
                : await calledFor.ByStateAsync(referral, cancellationToken);
            if (message.DuplicateId is null && referral is not null)
            {
                // Resends an operator asked for (Operations/ResendEmail): each is its own ledger row, so sent once.
                emails = [.. emails, .. EmailResend.Copies(emails, partition.Emails.Values.Where(e => !e.IsDone).Select(e => e.LedgerKey))];
            }

            var plan = Plan(message, referral, emails, partition);
            if (plan.Claims.Count > 0 && !await ledger.TryWriteAsync(referral, plan.Claims, cancellationToken))
            {
                if (attempt >= MaxClaimAttempts)
                {
                    throw new InvalidOperationException("The referral kept changing while its emails were claimed.");
                }

                continue; // the referral or a row changed since we read it (another sender, a transition, an erasure)
            }

            // Read before delivery moves the referral on; raised after it, so no alert delays the referral's own emails.
            var routingAlerts = referral is not null && message.DuplicateId is null ? RoutingAlerts.For(referral) : [];
            await DeliverAsync(message, referral, plan, cancellationToken);
            foreach (var alert in routingAlerts)
            {
                await alerts.RaiseAsync(alert, cancellationToken);
            }

            return;
        }
    }

    private sealed record Attempt(EmailMessage Email, EmailLedgerEntity Row);

    private sealed record SendPlan(List<(EmailLedgerEntity Row, bool IsNew)> Claims, List<Attempt> Sends, DateTimeOffset? ComeBackAt, bool AllDone);

    /// <summary>What each email's row says to do now: nothing (done), wait (held, or an outcome not known yet), or send.</summary>
    private SendPlan Plan(ReferralMessage message, ReferralEntity? referral, IReadOnlyList<EmailMessage> emails, EmailLedger.Partition partition)
    {
        var now = clock.GetUtcNow();
        var claims = new List<(EmailLedgerEntity, bool)>();
        var sends = new List<Attempt>();
        DateTimeOffset? comeBackAt = null;
        foreach (var email in emails)
        {
            var existing = partition.Emails.GetValueOrDefault(email.LedgerKey);
            if (existing is { IsDone: true })
            {
                continue;
            }

            if (existing is { State: EmailLedgerEntity.Claimed or EmailLedgerEntity.Unknown, SendId: { } sendId } && partition.ReportedSendIds.Contains(sendId))
            {
                // SendGrid reported this attempt (processed, delivered...): it was sent; record it, send nothing.
                existing.State = EmailLedgerEntity.Sent;
                existing.SentAt ??= now;
                claims.Add((existing, false));
                continue;
            }

            if (existing is { State: EmailLedgerEntity.Claimed } && existing.ClaimedAt > now - ClaimTimeout)
            {
                // Another invocation is sending it, or died mid-send: look again once its claim has run out.
                comeBackAt = Earliest(comeBackAt, existing.ClaimedAt + ClaimTimeout);
                continue;
            }

            if (existing is { State: EmailLedgerEntity.Claimed or EmailLedgerEntity.Unknown } && existing.ClaimedAt + UnknownOutcomeGrace > now && existing.Attempts < MaxHeldAttempts)
            {
                // It may have gone out: give the Event Webhook its grace period to say so before sending it again.
                comeBackAt = Earliest(comeBackAt, existing.ClaimedAt + UnknownOutcomeGrace);
                continue;
            }

            var row = existing ?? new EmailLedgerEntity { PartitionKey = message.ReferralId, RowKey = EmailLedgerEntity.RowKeyFor(email.LedgerKey), LedgerKey = email.LedgerKey };
            // Intake decided the daily cap when it counted this message's submission: a new referral, or a repeat.
            // An operator's resend is not held back by the cap: they chose to send it.
            var capped = EmailKinds.Of(email.Kind).CountsAgainstDailyCap && !EmailResend.IsResend(email.LedgerKey)
                && (message.DuplicateId is null ? referral?.ConfirmationCapped == true : message.NoticeCapped);
            row.State = capped ? EmailLedgerEntity.Suppressed : EmailLedgerEntity.Claimed;
            row.ClaimedAt = now;
            row.Attempts++;
            row.SendId = capped ? null : Guid.NewGuid().ToString("N");
            claims.Add((row, existing is null));
            if (!capped)
            {
                sends.Add(new Attempt(email, row));
            }
        }

        return new SendPlan(claims, sends, comeBackAt, comeBackAt is null);
    }

    /// <summary>
    /// Sends what was claimed, in order (the urgent alert first), stopping at the first failure that is not an unknown
    /// outcome, then records every
    /// outcome in one write. The claim was the last check against an erasure: emails claimed together go together.
    /// </summary>
    private async Task DeliverAsync(ReferralMessage message, ReferralEntity? referral, SendPlan plan, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        var stopped = false;
        foreach (var attempt in plan.Sends)
        {
            if (stopped)
            {
                // Not tried: the next attempt may send it at once.
                attempt.Row.State = EmailLedgerEntity.Failed;
                continue;
            }

            switch (await SendAsync(message.ReferralId, attempt, cancellationToken))
            {
                case null:
                    break;
                case SendOutcomeUnknownException unknown:
                    // SendGrid answered too late, not wrongly: the other emails need not wait for this one's grace.
                    failure ??= unknown;
                    break;
                case { } other:
                    // Refused, down or rate limited: the rest would meet the same, so they wait for the retry.
                    failure = other;
                    stopped = true;
                    break;
            }
        }

        var finished = plan.Sends.Select(s => s.Row).ToList();

        // Every email this state calls for is done: Routed becomes Notified in the same write.
        var notified = failure is null && plan.AllDone && message.DuplicateId is null && referral?.ToCase() is { } emailed && emailed.MarkEmailed(clock.GetUtcNow())
            ? emailed
            : null;
        if (!await ledger.CompleteAsync(referral, notified, finished, CancellationToken.None))
        {
            // The referral moved on since the claim (another message's claim, an answer, an erasure): record the emails
            // on their own; if they are gone, an erasure took the partition while SendGrid had them.
            if (notified is null || !await ledger.CompleteAsync(null, null, finished, CancellationToken.None))
            {
                LogErased(message.ReferralId);
                return;
            }

            await MarkNotifiedAsync(message.ReferralId, cancellationToken);
        }

        switch (failure)
        {
            case SendOutcomeUnknownException when UnknownOutcomeGrace > TimeSpan.Zero && finished.All(r => r.Attempts < MaxHeldAttempts):
                throw new HeldException(clock.GetUtcNow() + UnknownOutcomeGrace, referral?.Urgent == true);
            case ComeBackLaterException later:
                throw new HeldException(later.At, referral?.Urgent == true);
            case { } other:
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(other);
                break;
        }

        if (plan.ComeBackAt is { } at)
        {
            throw new HeldException(at, referral?.Urgent == true);
        }
    }

    /// <summary>After a conflict: moves the referral as it is now to Notified, if it is still Routed.</summary>
    private async Task MarkNotifiedAsync(string referralId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxClaimAttempts; attempt++)
        {
            if ((await ledger.ReadAsync(referralId, cancellationToken)).Referral is not { IsErased: false } referral
                || referral.ToCase() is not { } emailed || !emailed.MarkEmailed(clock.GetUtcNow()))
            {
                return;
            }

            if (await ledger.CompleteAsync(referral, emailed, [], cancellationToken))
            {
                return;
            }
        }
    }

    /// <summary>One attempt; its row says how it ended. Returns the failure, if any, instead of throwing it.</summary>
    private async Task<Exception?> SendAsync(string referralId, Attempt attempt, CancellationToken cancellationToken)
    {
        using var span = ReferralTelemetry.StartEmail(attempt.Email.Kind);
        try
        {
            attempt.Row.ProviderMessageId = await sender.SendAsync(
                attempt.Email,
                new Dictionary<string, string> { [ReferralIdArg] = referralId, [LedgerKeyArg] = attempt.Email.LedgerKey, [SendGridEvents.SendIdArg] = attempt.Row.SendId! },
                cancellationToken);
            attempt.Row.State = EmailLedgerEntity.Sent;
            attempt.Row.SentAt = clock.GetUtcNow();
            if (EmailKinds.Of(attempt.Email.Kind).KindMayBeLogged)
            {
                // Some kinds are not logged: the urgent alert next to the reference would say the person is at risk. The ledger has it.
                LogSent(referralId, attempt.Email.Kind);
            }

            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // An unknown outcome waits for the webhook; anything else surely did not go, and the next attempt may send.
            attempt.Row.State = e is SendOutcomeUnknownException ? EmailLedgerEntity.Unknown : EmailLedgerEntity.Failed;
            return e;
        }
    }

    /// <summary>How long an attempt whose outcome is unknown waits for the Event Webhook; zero (send again at once) without one.</summary>
    private TimeSpan UnknownOutcomeGrace =>
        string.IsNullOrEmpty(options.Value.EventWebhookPublicKey) ? TimeSpan.Zero : options.Value.UnknownOutcomeGrace;

    private static DateTimeOffset Earliest(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x < b ? x : b;

    /// <summary>Come back at a time; carries which queue the message came from.</summary>
    private sealed class HeldException(DateTimeOffset at, bool urgent) : ComeBackLaterException(at)
    {
        public bool Urgent { get; } = urgent;
    }

    /// <summary>Email:ClaimTimeout: longer than one invocation's longest send (2 attempts × 10 s timeout, backoff and a 10 s rate-limit wait by default).</summary>
    private TimeSpan ClaimTimeout => options.Value.ClaimTimeout;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: notifications queued again for {At:u} (rate limit or a claim held elsewhere)")]
    private partial void LogComeBackLater(string referralId, DateTimeOffset at);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} is erased: nothing more is sent about it")]
    private partial void LogErased(string referralId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId}: {Kind} email sent")]
    private partial void LogSent(string referralId, EmailKind kind);
}
