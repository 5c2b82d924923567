using System.Globalization;
using System.Text;

namespace Referrals.Core.Pages;

/// <summary>The periods and lifetimes the privacy notice states, taken from the app's settings so it never drifts from them.</summary>
public sealed record PrivacyFacts(
    TimeSpan PersonalData,
    TimeSpan EmailRecords,
    TimeSpan PoisonMessages,
    TimeSpan LinkClicks,
    TimeSpan SpecialistLinkLifetime,
    TimeSpan WithdrawLinkLifetime);

/// <summary>
/// The privacy notice the form asks visitors to read. Every sentence must be true of the code: when the code changes
/// what is stored, who sees it or for how long, this page changes with it.
/// </summary>
public static class PrivacyPage
{
    public const string Path = "/api/privacy";

    public static string Render(PrivacyFacts facts, string nonce)
    {
        var html = new StringBuilder();
        InterestPages.Head(html, "Privacy notice", nonce);
        html.Append("<main><h1>Privacy notice</h1>");
        html.Append(InterestPages.CrisisBlock);
        html.Append("""
            <p>This notice explains what happens to the details you send us with the interest form: what we keep, where, who sees it, for how long, and how to take it back.</p>

            <h2>Not for emergencies</h2>
            <p>Nobody reads the form or our emails around the clock. If you need help now, call or text 988. If you are in immediate danger, call 911.</p>

            <h2>What we store</h2>
            <ul>
              <li>What you enter on the form: your name, email address, phone number (if you give one), the US state you live in, the treatment you asked about, how you would like to be contacted and seen, your preferred language, your insurance provider, your message, and whether you ticked &#8220;I am having thoughts of harming myself&#8221;.</li>
              <li>The link you came from: the blog post and the campaign values in its address, such as <code>utm_source</code>.</li>
              <li>What happens to your request: when it was received, offered to a specialist, accepted or declined.</li>
              <li>To stop the form being misused, we keep keyed one-way codes made from your email address and your network (IP) address, with counters. We do not store your network address itself.</li>
            </ul>
            <p>We use your details only to connect you with a specialist: to choose one who is licensed in your state and offers the treatment you asked about, and to email you and them.</p>
            <p>Our application logs record the reference of your request, never your name, contact details or what you told us.</p>

            <h2>Where it is stored</h2>
            <p>In Azure Storage tables in the clinic&#8217;s own Microsoft Azure subscription. Work waiting to be done passes through Azure Storage queues; their messages carry only the reference of your request, never your details. Azure Storage encrypts the data it stores by default.</p>

            <h2>Who sees it</h2>
            <ul>
            """);
        html.Append("<li><strong>The specialist we offer your request to.</strong> Their email holds only your reference and a personal, signed link; your details are shown behind that link, which stops working after ")
            .Append(InWords(facts.SpecialistLinkLifetime)).Append(". If they decline or do not answer, we may offer your request to another specialist in the same way.</li>");
        html.Append("""
              <li><strong>The clinic&#8217;s triage coordinator</strong>, when no specialist matches your request, through a signed link in the same way.</li>
              <li><strong>The clinic&#8217;s operators</strong>, who run this service and can read what is stored when they need to fix a problem or erase your details.</li>
            </ul>
            <p>The status page for your reference shows where your request stands, not your details.</p>

            <h2>Emails</h2>
            <p>SendGrid, a Twilio company, delivers our emails, so it handles your name and email address. The emails we send you hold your name, your reference, next steps and links, never the treatment, your state or anything you wrote. Emails to specialists, the coordinator and our operators name your request only by its reference; your details stay behind the signed links.</p>

            <h2>How long we keep it</h2>
            <ul>
            """);
        Period(html, "Your details", facts.PersonalData,
            " after the last change to your request. After that we keep only its reference, status and dates, which do not identify you.");
        Period(html, "Records of the emails we sent and SendGrid&#8217;s delivery reports about them", facts.EmailRecords, ".");
        Period(html, "Messages that could not be processed, kept for our operators to retry (they hold only your reference)", facts.PoisonMessages, ".");
        Period(html, "Records of clicks on the blog&#8217;s links, which hold no personal details", facts.LinkClicks, ". After that only daily counts remain.");
        html.Append("<li>The one-way codes that stop misuse: until the limit they serve has run out.</li></ul>");

        html.Append("<h2>How to withdraw and erase your details</h2>")
            .Append("<p>Your confirmation email has a link to withdraw your request. When you confirm, we stop looking for a specialist and erase your name, contact details and everything you told us at once. The link works for ")
            .Append(InWords(facts.WithdrawLinkLifetime))
            .Append(". After that, reply to your confirmation email and we will do it for you.</p>");
        return html.Append("</main></body></html>").ToString();
    }

    /// <summary>A period as people say it: "180 days", "1 day", "12 hours".</summary>
    public static string InWords(TimeSpan period)
    {
        static string Count(double n, string unit) => $"{n.ToString("0.##", CultureInfo.InvariantCulture)} {unit}{(n == 1 ? "" : "s")}";
        return period.TotalDays >= 1 && period.TotalDays % 1 == 0 ? Count(period.TotalDays, "day")
            : period.TotalHours >= 1 && period.TotalHours % 1 == 0 ? Count(period.TotalHours, "hour")
            : Count(Math.Ceiling(period.TotalMinutes), "minute");
    }

    /// <param name="rest">HTML after the period, from its first character (" after…" or ".").</param>
    private static void Period(StringBuilder html, string what, TimeSpan period, string rest) =>
        html.Append("<li>").Append(what).Append(": <strong>").Append(InWords(period)).Append("</strong>").Append(rest).Append("</li>");
}
