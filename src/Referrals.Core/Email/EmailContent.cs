using System.Globalization;
using Referrals.Core.Referrals;

namespace Referrals.Core.Email;

/// <summary>
/// The pipeline's emails, worded in Email/Templates. Emails leave our control (mail providers, inboxes, shared
/// screens), so they hold the reference, next steps and links, never the treatment asked about, the state, or
/// anything else the visitor told us.
/// </summary>
public static class EmailContent
{
    public static string CrisisText => EmailTemplates.CrisisText;

    public static EmailMessage VisitorConfirmation(Referral referral, string withdrawUrl, string privacyUrl) =>
        Build(EmailKind.VisitorConfirmation, nameof(EmailKind.VisitorConfirmation), referral.Email, referral.Name, nameof(EmailKind.VisitorConfirmation), new()
        {
            ["name"] = referral.Name, ["reference"] = referral.Id, ["withdrawUrl"] = withdrawUrl, ["crisis"] = CrisisText,
            ["privacyUrl"] = privacyUrl,
        });

    /// <summary>One per repeat submission (its own ledger key), so a retry never sends it twice.</summary>
    public static EmailMessage DuplicateNotice(Referral owner, string duplicateId, string withdrawUrl) =>
        Build(EmailKind.DuplicateNotice, nameof(EmailKind.DuplicateNotice), owner.Email, owner.Name, $"{EmailKind.DuplicateNotice}-{duplicateId}", new()
        {
            ["name"] = owner.Name, ["reference"] = owner.Id, ["withdrawUrl"] = withdrawUrl, ["crisis"] = CrisisText,
        });

    public static EmailMessage SpecialistNewReferral(Referral referral, string specialistEmail, string specialistName, int assignment, string respondUrl, DateTimeOffset respondBy) =>
        Build(EmailKind.SpecialistNewReferral, nameof(EmailKind.SpecialistNewReferral), specialistEmail, specialistName, $"{EmailKind.SpecialistNewReferral}-{assignment}", new()
        {
            ["specialistName"] = specialistName, ["reference"] = referral.Id, ["respondUrl"] = respondUrl,
            ["respondBy"] = respondBy.ToString("dddd d MMMM, HH:mm 'UTC'", CultureInfo.InvariantCulture),
        });

    public static EmailMessage SpecialistReminder(Referral referral, string specialistEmail, string specialistName, int assignment, string respondUrl) =>
        Build(EmailKind.SpecialistReminder, nameof(EmailKind.SpecialistReminder), specialistEmail, specialistName, $"{EmailKind.SpecialistReminder}-{assignment}", new()
        {
            ["specialistName"] = specialistName, ["reference"] = referral.Id, ["respondUrl"] = respondUrl,
        });

    public static EmailMessage VisitorAccepted(Referral referral, string specialistName, string contactMethod, string privacyUrl) =>
        Build(EmailKind.VisitorAccepted, nameof(EmailKind.VisitorAccepted), referral.Email, referral.Name, nameof(EmailKind.VisitorAccepted), new()
        {
            ["name"] = referral.Name, ["reference"] = referral.Id, ["specialistName"] = specialistName,
            ["how"] = contactMethod switch { "Phone" => "by phone", "Text" => "by text message", _ => "by email" },
            ["crisis"] = CrisisText, ["privacyUrl"] = privacyUrl,
        });

    public static EmailMessage TriageNotice(Referral referral, string triageEmail, string triageUrl) =>
        Build(EmailKind.TriageNotice, nameof(EmailKind.TriageNotice), triageEmail, "Triage coordinator", $"{EmailKind.TriageNotice}-{referral.Assignment}", new()
        {
            ["reference"] = referral.Id, ["triageUrl"] = triageUrl,
        });

    public static EmailMessage OperatorSlaAlert(Referral referral, string operatorsEmail, string specialistId, int assignment) =>
        Build(EmailKind.OperatorAlert, "OperatorSlaAlert", operatorsEmail, "Operators", $"{EmailKind.OperatorAlert}-sla-{assignment}", new()
        {
            ["reference"] = referral.Id, ["specialistId"] = specialistId,
        });

    public static EmailMessage OperatorFailureAlert(string referralId, string operatorsEmail, string queue) =>
        Build(EmailKind.OperatorAlert, "OperatorFailureAlert", operatorsEmail, "Operators", $"{EmailKind.OperatorAlert}-failed-{queue}", new()
        {
            ["reference"] = referralId, ["queue"] = queue,
        });

    /// <summary>The reference and a signed link only: never why it is urgent, nor anything the visitor told us.</summary>
    public static EmailMessage UrgentAlert(string referralId, string operatorsEmail, string reviewUrl) =>
        Build(EmailKind.UrgentAlert, nameof(EmailKind.UrgentAlert), operatorsEmail, "Operators", nameof(EmailKind.UrgentAlert), new()
        {
            ["reference"] = referralId, ["reviewUrl"] = reviewUrl,
        });

    /// <summary>One per referral (only one specialist holds it at a time), so the ledger sends it once.</summary>
    public static EmailMessage SpecialistWithdrawn(string referralId, string specialistEmail, string specialistName) =>
        Build(EmailKind.SpecialistWithdrawn, nameof(EmailKind.SpecialistWithdrawn), specialistEmail, specialistName, nameof(EmailKind.SpecialistWithdrawn), new()
        {
            ["specialistName"] = specialistName, ["reference"] = referralId,
        });

    private static EmailMessage Build(EmailKind kind, string template, string to, string? toName, string ledgerKey, Dictionary<string, string> values)
    {
        var (subject, text, html) = EmailTemplates.Render(template, values);
        return new EmailMessage(kind, to, toName, subject, html, text, ledgerKey);
    }
}
