using System.Net;
using Referrals.Core.Referrals;

namespace Referrals.Core.Email;

/// <summary>
/// Email text. Emails leave our control (mail providers, inboxes, shared screens), so they hold the reference and
/// next steps, never the treatment asked about, the state, or anything else the visitor told us.
/// </summary>
public static class EmailContent
{
    private const string CrisisText =
        "If you are in crisis or thinking about harming yourself, call or text 988 (Suicide & Crisis Lifeline) or chat at 988lifeline.org. "
        + "If you are in immediate danger, call 911. This email address is not monitored around the clock.";

    public static EmailMessage VisitorConfirmation(Referral referral)
    {
        var reference = referral.Id;
        var text = $"""
            Hello {referral.Name},

            Thank you for reaching out. We have received your request. Your reference is {reference}.

            What happens next:
            - A specialist will review your request and contact you, usually within two business days.
            - The first step is an initial assessment to talk through whether treatment is right for you.

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
            <p><strong>{Encode(CrisisText)}</strong></p>
            """;
        return new EmailMessage(EmailKind.VisitorConfirmation, referral.Email, referral.Name, $"We received your request ({reference})", html, text);
    }

    public static EmailMessage SpecialistNewReferral(Referral referral, string specialistEmail, string specialistName)
    {
        var reference = referral.Id;
        var text = $"""
            Hello {specialistName},

            A new referral has been routed to you. Reference: {reference}.
            Please review it in the referral portal and accept or decline it within 48 hours.
            """;
        var html = $"""
            <p>Hello {Encode(specialistName)},</p>
            <p>A new referral has been routed to you. Reference: <strong>{Encode(reference)}</strong>.</p>
            <p>Please review it in the referral portal and accept or decline it within 48 hours.</p>
            """;
        return new EmailMessage(EmailKind.SpecialistNewReferral, specialistEmail, specialistName, $"New referral {reference}", html, text);
    }

    public static EmailMessage TriageNotice(Referral referral, string triageEmail)
    {
        var reference = referral.Id;
        var text = $"""
            Referral {reference} could not be matched to a specialist automatically and needs triage.
            """;
        var html = $"""
            <p>Referral <strong>{Encode(reference)}</strong> could not be matched to a specialist automatically and needs triage.</p>
            """;
        return new EmailMessage(EmailKind.TriageNotice, triageEmail, "Triage coordinator", $"Referral {reference} needs triage", html, text);
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);
}
