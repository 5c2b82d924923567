using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Functions.Intake;
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
    SpecialistDirectory directory,
    EmailSender sender,
    IntakeGuards guards,
    IOptions<EmailOptions> options,
    IOptions<IntakeOptions> intakeOptions,
    IOptions<RoutingOptions> routingOptions,
    ReferralLinks links,
    TimeProvider clock,
    ILogger<SendNotifications> logger)
{
    [Function(nameof(SendNotifications))]
    public async Task Run(
        [QueueTrigger(StorageNames.NotificationQueue, Connection = StorageNames.Connection)] ReferralMessage message,
        CancellationToken cancellationToken)
    {
        var referral = await referrals.FindReferralAsync(message.ReferralId, cancellationToken)
            ?? throw new InvalidOperationException($"Referral {message.ReferralId} does not exist.");

        foreach (var email in await ComposeAsync(referral, cancellationToken))
        {
            var sent = await ledger.GetEntityIfExistsAsync<EmailLedgerEntity>(referral.PartitionKey, email.LedgerKey, cancellationToken: cancellationToken);
            if (sent.HasValue)
            {
                continue;
            }

            // At most a few confirmations a day to one address, so the form cannot be used to flood someone's inbox.
            var suppressed = email.Kind == EmailKind.VisitorConfirmation
                && !await guards.CountConfirmationAsync(intakeOptions.Value.Hash().Of("confirmation", email.ToAddress.ToLowerInvariant()), cancellationToken);
            var providerId = suppressed ? null : await sender.SendAsync(email, cancellationToken);
            await ledger.UpsertEntityAsync(
                new EmailLedgerEntity { PartitionKey = referral.PartitionKey, RowKey = email.LedgerKey, SentAt = clock.GetUtcNow(), ProviderMessageId = providerId, Suppressed = suppressed },
                TableUpdateMode.Replace,
                cancellationToken);
            LogSent(referral.PartitionKey, email.Kind, suppressed);
        }

        if (referral.CurrentStatus == ReferralStatus.Routed)
        {
            await referrals.TransitionAsync(
                referral,
                new StatusChange(ReferralStatus.Notified, clock.GetUtcNow(), Actor.System, "Visitor and specialist emailed."),
                update: null,
                cancellationToken);
        }
    }

    /// <summary>The emails the referral's current state calls for; the ledger filters out those already sent.</summary>
    private async Task<IReadOnlyList<EmailMessage>> ComposeAsync(ReferralEntity entity, CancellationToken cancellationToken)
    {
        var referral = entity.ToReferral();
        var emails = new List<EmailMessage> { EmailContent.VisitorConfirmation(referral) };
        var specialist = entity.AssignedSpecialistId is { } specialistId
            ? await directory.FindAsync(specialistId, cancellationToken)
                ?? throw new InvalidOperationException($"Specialist {specialistId} assigned to referral {referral.Id} is no longer in the directory.")
            : null;
        switch (referral.Status)
        {
            case ReferralStatus.Routed or ReferralStatus.Notified when specialist is not null:
                var respondUrl = links.RespondUrl(referral.Id, specialist.Id, entity.Assignment);
                emails.Add(EmailContent.SpecialistNewReferral(referral, specialist.Email, specialist.Name, entity.Assignment, respondUrl,
                    (entity.AssignedAt ?? clock.GetUtcNow()) + routingOptions.Value.ReminderAfter));
                if (entity.ReminderForAssignment == entity.Assignment)
                {
                    emails.Add(EmailContent.SpecialistReminder(referral, specialist.Email, specialist.Name, entity.Assignment, respondUrl));
                }

                break;
            case ReferralStatus.Accepted when specialist is not null:
                emails.Add(EmailContent.VisitorAccepted(referral, specialist.Name, specialist.Practice, entity.ContactMethod));
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId}: {Kind} email done (suppressed by the daily cap: {Suppressed})")]
    private partial void LogSent(string referralId, EmailKind kind, bool suppressed);
}
