using System.ComponentModel.DataAnnotations;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>Operator alerts (to Routing:OperatorsAddress): the quiet period that turns a storm into a digest.</summary>
public sealed class AlertOptions
{
    public const string Section = "Alerts";

    /// <summary>
    /// After an alert goes out, further alerts of the same condition wait this long and then go as one digest. Zero
    /// sends every alert on its own. Two minutes leave, within the five in which every alert must reach operators (the
    /// chaos run's goal for poison), the digest timer's minute, a minute of that timer running late, and a minute for
    /// one digest SendGrid refused to go again at the next tick (the chaos run saw 5:25 with three).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan QuietPeriod { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// An alert or digest claimed for sending whose outcome is unknown (a crash, a SendGrid timeout) is sent again
    /// after this long: an operator alert sent twice beats one never sent. Longer than a send with its retries.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
