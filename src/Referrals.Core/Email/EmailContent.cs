using System.Net;
using Referrals.Core.Referrals;

namespace Referrals.Core.Email;

/// <summary>
/// Email text. Emails leave our control (mail providers, inboxes, shared screens), so they hold the reference and
/// next steps, never the treatment asked about, the state, or anything else the visitor told us.
/// </summary>
public static class EmailContent
{
    internal const string CrisisText =
        "If you are in crisis or thinking about harming yourself, call or text 988 (Suicide & Crisis Lifeline) or chat at 988lifeline.org. "
        + "If you are in immediate danger, call 911. This email address is not monitored around the clock.";

    public static EmailMessage VisitorConfirmation(Referral referral, string withdrawUrl)
    {
        var reference = referral.Id;
        var text = $"""
            Hello {referral.Name},

            Thank you for reaching out. We have received your request. Your reference is {reference}.

            What happens next:
            - A specialist will review your request and contact you, usually within two business days.
            - The first step is an initial assessment to talk through whether treatment is right for you.

            Changed your mind? Withdraw your request and have your details erased: {withdrawUrl}

            {CrisisText}
            """;
        var html = $"""
            <p>Hello {Encode(referral.Name)},</p>
            <p>Thank you for reaching out. We have received your request. Your reference is <strong>{Encode(reference)}</strong>.</p>
            <p>What happens next:</p>
            <ul>
              <li>A specialist will review your request and contact you, usually within two business days.</li>
              <li>The first step is an initial assessment to talk through whether treatment is right for you.</li>
            </ul>
            <p>Changed your mind? <a href="{Encode(withdrawUrl)}">Withdraw your request and have your details erased</a>.</p>
            <p><strong>{Encode(CrisisText)}</strong></p>
            """;
        return new EmailMessage(EmailKind.VisitorConfirmation, referral.Email, referral.Name, $"We received your request ({reference})", html, text);
    }

    public static EmailMessage SpecialistNewReferral(Referral referral, string specialistEmail, string specialistName, int assignment, string respondUrl, DateTimeOffset respondBy)
    {
        var reference = referral.Id;
        var by = respondBy.ToString("dddd d MMMM, HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        var text = $"""
            Hello {specialistName},

            A new referral has been routed to you. Reference: {reference}.

            See the details you need to contact the person: {respondUrl}
            Accept: {respondUrl}#accept
            Decline (with a reason): {respondUrl}#decline

            Please respond by {by}. The link is personal to you; do not forward it.
            """;
        var html = $"""
            <p>Hello {Encode(specialistName)},</p>
            <p>A new referral has been routed to you. Reference: <strong>{Encode(reference)}</strong>.</p>
            <p><a href="{Encode(respondUrl)}">See the referral</a> · <a href="{Encode(respondUrl)}#accept">Accept</a> · <a href="{Encode(respondUrl)}#decline">Decline with a reason</a></p>
            <p>Each link opens the referral page; your answer is recorded when you confirm it there. Please respond by {Encode(by)}. The link is personal to you; do not forward it.</p>
            """;
        return new EmailMessage(EmailKind.SpecialistNewReferral, specialistEmail, specialistName, $"New referral {reference}", html, text, $"{EmailKind.SpecialistNewReferral}-{assignment}");
    }

    public static EmailMessage SpecialistReminder(Referral referral, string specialistEmail, string specialistName, int assignment, string respondUrl)
    {
        var reference = referral.Id;
        var text = $"""
            Hello {specialistName},

            Referral {reference} is still waiting for your answer. If we do not hear from you soon it will be offered to another specialist.
            {respondUrl}
            """;
        var html = $"""
            <p>Hello {Encode(specialistName)},</p>
            <p>Referral <strong>{Encode(reference)}</strong> is still waiting for your answer. If we do not hear from you soon it will be offered to another specialist.</p>
            <p><a href="{Encode(respondUrl)}">Open the referral to accept or decline it</a></p>
            """;
        return new EmailMessage(EmailKind.SpecialistReminder, specialistEmail, specialistName, $"Reminder: referral {reference}", html, text, $"{EmailKind.SpecialistReminder}-{assignment}");
    }

    public static EmailMessage VisitorAccepted(Referral referral, string specialistName, string practice, string contactMethod)
    {
        var reference = referral.Id;
        var how = contactMethod switch { "Phone" => "by phone", "Text" => "by text message", _ => "by email" };
        var text = $"""
            Hello {referral.Name},

            Good news about your request {reference}: {specialistName} at {practice} will contact you {how}, usually within two business days.

            {CrisisText}
            """;
        var html = $"""
            <p>Hello {Encode(referral.Name)},</p>
            <p>Good news about your request <strong>{Encode(reference)}</strong>: {Encode(specialistName)} at {Encode(practice)} will contact you {how}, usually within two business days.</p>
            <p><strong>{Encode(CrisisText)}</strong></p>
            """;
        return new EmailMessage(EmailKind.VisitorAccepted, referral.Email, referral.Name, $"A specialist will contact you ({reference})", html, text);
    }

    public static EmailMessage TriageNotice(Referral referral, string triageEmail, string triageUrl)
    {
        var reference = referral.Id;
        var text = $"""
            Referral {reference} could not be matched to a specialist automatically and needs triage.
            {triageUrl}
            """;
        var html = $"""
            <p>Referral <strong>{Encode(reference)}</strong> could not be matched to a specialist automatically and needs triage.</p>
            <p><a href="{Encode(triageUrl)}">Open the referral</a></p>
            """;
        return new EmailMessage(EmailKind.TriageNotice, triageEmail, "Triage coordinator", $"Referral {reference} needs triage", html, text, $"{EmailKind.TriageNotice}-{referral.Assignment}");
    }

    public static EmailMessage OperatorSlaAlert(Referral referral, string operatorsEmail, string specialistId, int assignment)
    {
        var reference = referral.Id;
        var text = $"Specialist {specialistId} did not answer referral {reference} in time. It has been routed again.";
        var html = $"<p>Specialist {Encode(specialistId)} did not answer referral <strong>{Encode(reference)}</strong> in time. It has been routed again.</p>";
        return new EmailMessage(EmailKind.OperatorAlert, operatorsEmail, "Operators", $"Referral {reference}: no answer from {specialistId}", html, text, $"{EmailKind.OperatorAlert}-sla-{assignment}");
    }

    public static EmailMessage OperatorFailureAlert(string referralId, string operatorsEmail, string queue)
    {
        var text = $"Referral {referralId} failed on every attempt in {queue} and is marked Failed. Replay or discard it from the operations API.";
        var html = $"<p>Referral <strong>{Encode(referralId)}</strong> failed on every attempt in {Encode(queue)} and is marked Failed. Replay or discard it from the operations API.</p>";
        return new EmailMessage(EmailKind.OperatorAlert, operatorsEmail, "Operators", $"Referral {referralId} failed", html, text, $"{EmailKind.OperatorAlert}-failed-{queue}");
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);
}
