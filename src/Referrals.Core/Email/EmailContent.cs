using System.Globalization;
using System.Net;
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
        Build(EmailKind.VisitorConfirmation, null, referral.Email, referral.Name, new()
        {
            ["name"] = referral.Name, ["reference"] = referral.Id, ["withdrawUrl"] = withdrawUrl, ["crisis"] = CrisisText,
            ["privacyUrl"] = privacyUrl,
        });

    /// <summary>One per repeat submission (its own ledger key), so a retry never sends it twice.</summary>
    public static EmailMessage DuplicateNotice(Referral owner, string duplicateId, string withdrawUrl) =>
        Build(EmailKind.DuplicateNotice, duplicateId, owner.Email, owner.Name, new()
        {
            ["name"] = owner.Name, ["reference"] = owner.Id, ["withdrawUrl"] = withdrawUrl, ["crisis"] = CrisisText,
        });

    public static EmailMessage SpecialistNewReferral(Referral referral, string specialistEmail, string specialistName, int assignment, string respondUrl, DateTimeOffset respondBy) =>
        Build(EmailKind.SpecialistNewReferral, Scope(assignment), specialistEmail, specialistName, new()
        {
            ["specialistName"] = specialistName, ["reference"] = referral.Id, ["respondUrl"] = respondUrl,
            ["respondBy"] = respondBy.ToString("dddd d MMMM, HH:mm 'UTC'", CultureInfo.InvariantCulture),
        });

    public static EmailMessage SpecialistReminder(Referral referral, string specialistEmail, string specialistName, int assignment, string respondUrl) =>
        Build(EmailKind.SpecialistReminder, Scope(assignment), specialistEmail, specialistName, new()
        {
            ["specialistName"] = specialistName, ["reference"] = referral.Id, ["respondUrl"] = respondUrl,
        });

    public static EmailMessage VisitorAccepted(Referral referral, string specialistName, string contactMethod, string privacyUrl) =>
        Build(EmailKind.VisitorAccepted, null, referral.Email, referral.Name, new()
        {
            ["name"] = referral.Name, ["reference"] = referral.Id, ["specialistName"] = specialistName,
            ["how"] = contactMethod switch { "Phone" => "by phone", "Text" => "by text message", _ => "by email" },
            ["crisis"] = CrisisText, ["privacyUrl"] = privacyUrl,
        });

    public static EmailMessage TriageNotice(Referral referral, string triageEmail, string triageUrl) =>
        Build(EmailKind.TriageNotice, Scope(referral.Assignment), triageEmail, "Triage coordinator", new()
        {
            ["reference"] = referral.Id, ["triageUrl"] = triageUrl,
        });

    /// <summary>
    /// One alert for operators, keyed by its alert row (<paramref name="alertKey"/>). <paramref name="facts"/> are
    /// the condition's ids (<see cref="AlertWording"/>); <paramref name="link"/> opens the referral in the dashboard.
    /// </summary>
    public static EmailMessage OperatorAlert(AlertCondition condition, string referralId, string alertKey, string operatorsEmail, IReadOnlyDictionary<string, string> facts, string link, TimeSpan quietPeriod) =>
        Build(EmailKind.OperatorAlert, alertKey, operatorsEmail, "Operators", new()
        {
            ["headline"] = AlertWording.Headline(condition, referralId, facts), ["detail"] = AlertWording.Detail(condition, facts),
            ["link"] = link,
            ["quietNote"] = quietPeriod > TimeSpan.Zero
                ? $"Further alerts of this kind in the next {Duration(quietPeriod)} come together in one digest."
                : "Every alert of this kind is sent on its own.",
        });

    /// <summary>A digest of one condition's alerts: each reference with its queue (if any) and its dashboard link.</summary>
    public static EmailMessage OperatorAlertDigest(AlertCondition condition, string digestKey, string operatorsEmail, IReadOnlyList<AlertDigestEntry> entries)
    {
        if (entries.Count == 0)
        {
            throw new ArgumentException("A digest collects at least one alert.", nameof(entries));
        }

        static string Label(AlertDigestEntry e) => e.Queue is null ? e.Reference : $"{e.Reference} ({e.Queue})";
        return Build(EmailKind.OperatorAlertDigest, digestKey, operatorsEmail, "Operators", new()
        {
            ["count"] = entries.Count.ToString(CultureInfo.InvariantCulture), ["title"] = AlertWording.DigestTitle(condition),
            ["first"] = entries[0].Reference,
            ["lines"] = string.Concat(entries.Select(e => $"- {Label(e)}: {e.Link}\n")),
            ["items" + EmailTemplates.RawHtmlSuffix] = string.Concat(entries.Select(e =>
                $"<li><a href=\"{WebUtility.HtmlEncode(e.Link)}\">{WebUtility.HtmlEncode(Label(e))}</a></li>\n")),
        });
    }

    private static string Duration(TimeSpan span) => span switch
    {
        { TotalDays: >= 1 } when span.TotalDays % 1 == 0 => Plural((int)span.TotalDays, "day"),
        { TotalHours: >= 1 } when span.TotalHours % 1 == 0 => Plural((int)span.TotalHours, "hour"),
        { TotalMinutes: >= 1 } when span.TotalMinutes % 1 == 0 => Plural((int)span.TotalMinutes, "minute"),
        _ => Plural((int)Math.Ceiling(span.TotalSeconds), "second"),
    };

    private static string Plural(int n, string unit) => n == 1 ? $"1 {unit}" : $"{n.ToString(CultureInfo.InvariantCulture)} {unit}s";

    /// <summary>The reference and a signed link only: never why it is urgent, nor anything the visitor told us.</summary>
    public static EmailMessage UrgentAlert(string referralId, string operatorsEmail, string reviewUrl) =>
        Build(EmailKind.UrgentAlert, null, operatorsEmail, "Operators", new()
        {
            ["reference"] = referralId, ["reviewUrl"] = reviewUrl,
        });

    /// <summary>One per referral (only one specialist holds it at a time), so the ledger sends it once.</summary>
    public static EmailMessage SpecialistWithdrawn(string referralId, string specialistEmail, string specialistName) =>
        Build(EmailKind.SpecialistWithdrawn, null, specialistEmail, specialistName, new()
        {
            ["specialistName"] = specialistName, ["reference"] = referralId,
        });

    private static string Scope(int assignment) => assignment.ToString(CultureInfo.InvariantCulture);

    /// <param name="scope">The assignment, repeat or queue the email belongs to, as its kind's description asks.</param>
    private static EmailMessage Build(EmailKind kind, string? scope, string to, string? toName, Dictionary<string, string> values)
    {
        var info = EmailKinds.Of(kind);
        var (subject, text, html) = EmailTemplates.Render(info.Template, values);
        return new EmailMessage(kind, to, toName, subject, html, text, info.LedgerKey(scope));
    }
}
