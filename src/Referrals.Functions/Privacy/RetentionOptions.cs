namespace Referrals.Functions.Privacy;

/// <summary>How long each kind of data is kept before the daily PurgeExpiredData timer removes it.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>A referral's personal fields, counted from its last activity (its last status change).</summary>
    public TimeSpan PersonalData { get; set; } = TimeSpan.FromDays(180);

    /// <summary>The email ledger's delivery details, SendGrid message index rows and delivery-event rows.</summary>
    public TimeSpan EmailRecords { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Messages parked after failing every attempt.</summary>
    public TimeSpan PoisonMessages { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Raw learn-more click rows (aggregated per day, topic and post first).</summary>
    public TimeSpan LinkClicks { get; set; } = TimeSpan.FromDays(90);

    /// <summary>The operator audit: the OperatorAudit day log and the audit rows in referrals' partitions.</summary>
    public TimeSpan Audit { get; set; } = TimeSpan.FromDays(365);
}
