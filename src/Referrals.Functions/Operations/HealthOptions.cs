namespace Referrals.Functions.Operations;

public sealed class HealthOptions
{
    public const string Section = "Health";

    /// <summary>A message parked in a poison queue for longer than this makes the pipeline degraded: nobody has dealt with it.</summary>
    public TimeSpan PoisonOlderThan { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long the storage checks may take before the answer is degraded, so a probe never hangs.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
