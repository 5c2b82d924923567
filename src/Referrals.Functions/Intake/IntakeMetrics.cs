using System.Diagnostics.Metrics;

namespace Referrals.Functions.Intake;

/// <summary>
/// Counts of accepted referrals, for operators' dashboards. Counts only, with no tags: the urgent flag is never
/// recorded next to a reference outside the referral itself (not in logs, not in metrics).
/// </summary>
public sealed class IntakeMetrics
{
    public const string MeterName = "Referrals";
    public const string AcceptedCounter = "referrals.intake.accepted";
    public const string UrgentCounter = "referrals.intake.urgent";

    private readonly Counter<long> accepted;
    private readonly Counter<long> urgent;

    public IntakeMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        accepted = meter.CreateCounter<long>(AcceptedCounter, "{referral}", "Referrals stored and queued for routing.");
        urgent = meter.CreateCounter<long>(UrgentCounter, "{referral}", "Accepted referrals whose visitor ticked the crisis box.");
    }

    public void Accepted(bool isUrgent)
    {
        accepted.Add(1);
        if (isUrgent)
        {
            urgent.Add(1);
        }
    }
}
