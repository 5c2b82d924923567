using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Functions.Routing;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Notifications;

/// <summary>
/// Which emails a referral's state calls for, and their content: the one place that decides when each kind is sent.
/// The send ledger then skips those already sent.
/// </summary>
public sealed partial class EmailsCalledFor(
    SpecialistDirectory directory,
    ReferralLinks links,
    IOptions<EmailOptions> email,
    IOptions<RoutingOptions> routingOptions,
    TimeProvider clock,
    ILogger<EmailsCalledFor> logger)
{
    /// <summary>The emails the referral's current state calls for; the ledger filters out those already sent.</summary>
    public async Task<IReadOnlyList<EmailMessage>> ByStateAsync(ReferralEntity entity, CancellationToken cancellationToken)
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
                emails.Add(EmailContent.TriageNotice(referral, email.Value.TriageAddress, links.TriageUrl(referral.Id, entity.Assignment)));
                break;
        }

        // An SLA breach is an operator alert (Operations/Alerts), raised by the notification step with its quiet period.
        return emails;
    }

    /// <summary>
    /// "We already have your request": to the owner of a live referral that someone sent the form again for, once per
    /// repeat (the ledger key names the repeat's stub), and within the address's daily cap like a confirmation.
    /// </summary>
    public IReadOnlyList<EmailMessage> DuplicateNotice(ReferralEntity owner, string duplicateId) =>
        owner.CurrentStatus is ReferralStatus.Withdrawn or ReferralStatus.Duplicate || !ReferralId.IsWellFormed(duplicateId)
            ? []
            : [EmailContent.DuplicateNotice(owner.ToReferral(), duplicateId, links.WithdrawUrl(owner.PartitionKey))];

    /// <summary>The bare notice to the specialist who held a withdrawn referral (which no longer names them: the message does).</summary>
    public async Task<IReadOnlyList<EmailMessage>> WithdrawalNoticeAsync(string referralId, string specialistId, CancellationToken cancellationToken)
    {
        if (await directory.FindAsync(specialistId, cancellationToken) is not { } specialist)
        {
            LogNoSpecialist(referralId, specialistId);
            return [];
        }

        return [EmailContent.SpecialistWithdrawn(referralId, specialist.Email, specialist.Name)];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: specialist {SpecialistId} is no longer in the directory; no withdrawal notice sent")]
    private partial void LogNoSpecialist(string referralId, string specialistId);
}
