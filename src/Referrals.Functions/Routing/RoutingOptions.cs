using System.ComponentModel.DataAnnotations;

namespace Referrals.Functions.Routing;

public sealed class RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>Declines and timeouts a referral may collect before it goes to the triage coordinator.</summary>
    [Range(1, 20)] public int MaxUnanswered { get; set; } = 3;

    /// <summary>
    /// Offers a specialist may hold unanswered at once (never more than their capacity left this week). Capacity is
    /// counted when they accept, so this bound is what keeps a burst of submissions from piling up on one specialist.
    /// </summary>
    [Range(1, 500)] public int MaxOpenOffers { get; set; } = Core.Routing.Router.DefaultMaxOpenOffers;

    /// <summary>No answer after this long: one reminder.</summary>
    public TimeSpan ReminderAfter { get; set; } = TimeSpan.FromHours(48);

    /// <summary>Still no answer this long after the reminder: re-route and alert operators.</summary>
    public TimeSpan TimeoutAfterReminder { get; set; } = TimeSpan.FromHours(48);

    /// <summary>The much shorter clock of an urgent referral: no answer after this long, one reminder.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan UrgentReminderAfter { get; set; } = TimeSpan.FromHours(4);

    /// <summary>An urgent referral still unanswered this long after the reminder: re-route and alert operators.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan UrgentTimeoutAfterReminder { get; set; } = TimeSpan.FromHours(4);

    /// <summary>The public address (the same key <see cref="Security.LinkOptions"/> binds); notifications link the privacy notice with it.</summary>
    [Required, Url] public string PublicBaseUrl { get; set; } = "";

    [Required, EmailAddress] public string OperatorsAddress { get; set; } = "";

    /// <summary>How long a specialist has before the reminder (the "respond by" in their email).</summary>
    public TimeSpan ReminderAfterFor(bool urgent) => urgent ? UrgentReminderAfter : ReminderAfter;

    /// <summary>How long after the assignment an unanswered referral is routed again.</summary>
    public TimeSpan TimeoutFor(bool urgent) => ReminderAfterFor(urgent) + (urgent ? UrgentTimeoutAfterReminder : TimeoutAfterReminder);
}
