using System.ComponentModel.DataAnnotations;

namespace Referrals.Functions.Intake;

/// <summary>Intake's own settings. CORS and the client address are shared web settings (<see cref="Web.WebOptions"/>), bound from this section too.</summary>
public sealed class IntakeOptions
{
    public const string Section = "Intake";

    /// <summary>A form sent sooner than this after it was shown comes back with a note to check and send again.</summary>
    public TimeSpan MinimumFillTime { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A form sent longer than this after it was shown comes back with a note to check and send again.</summary>
    public TimeSpan StampLifetime { get; set; } = TimeSpan.FromHours(2);

    [Range(1, 10_000)] public int RateLimitPerHour { get; set; } = 5;

    [Range(1, 100)] public int ConfirmationsPerDay { get; set; } = 3;

    /// <summary>Submissions accepted per email address per day (UTC), counted by keyed hash.</summary>
    [Range(1, 1000)] public int SubmissionsPerEmailPerDay { get; set; } = 5;

    /// <summary>The same email and treatment within this window is a repeat: its owner is emailed instead.</summary>
    public TimeSpan DedupeWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Referrals still Received after this long have their claims completed and are queued by the reconciler.</summary>
    public TimeSpan ReconcileAfter { get; set; } = TimeSpan.FromMinutes(2);

    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>How long the thank-you page can show the reference (and crisis resources) the form post left it.</summary>
    public static readonly TimeSpan ThanksLifetime = TimeSpan.FromMinutes(15);
}
