namespace Referrals.Core.Email;

/// <summary>
/// What operators are alerted about: one alert per condition and referral (and its scope: the queue, the assignment,
/// the email), the first at once and the rest of a quiet period in one digest. Alerts hold references, queue names,
/// specialist ids and links, never what the visitor told us.
/// </summary>
/// <remarks>
/// The urgent-referral alert is the safety issue's (<see cref="EmailKind.UrgentAlert"/>): it goes out at once for
/// every urgent referral, never held back by a quiet period, and its wording is its own.
/// </remarks>
public enum AlertCondition
{
    /// <summary>A referral's message failed every attempt and was parked.</summary>
    Poison,

    /// <summary>Routing found no specialist: the referral went to the triage coordinator.</summary>
    Triage,

    /// <summary>The specialist holding a referral did not answer in time.</summary>
    SlaBreach,

    /// <summary>SendGrid reported a bounce, drop or block of an email to a specialist.</summary>
    SpecialistBounce,

    /// <summary>A parked message has waited longer than Health:PoisonOlderThan for an operator.</summary>
    PoisonWaiting,
}
