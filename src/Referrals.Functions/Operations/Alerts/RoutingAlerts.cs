using System.Globalization;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// The alerts a referral's routing state calls for: it went to triage, or its last specialist did not answer in
/// time. The notification step raises them: routing (and the SLA monitor's re-route) always queues one, and the
/// queue retries it, so a crash after the routing write cannot lose the alert. Each is keyed by its assignment.
/// </summary>
public static class RoutingAlerts
{
    public static IReadOnlyList<OperatorAlert> For(ReferralEntity referral)
    {
        if (referral.IsErased)
        {
            return [];
        }

        var alerts = new List<OperatorAlert>();
        if (referral.CurrentStatus == ReferralStatus.NeedsTriage)
        {
            alerts.Add(new OperatorAlert(AlertCondition.Triage, referral.PartitionKey, referral.Assignment.ToString(CultureInfo.InvariantCulture)));
        }

        if (referral.TimedOutAssignment > 0 && referral.TimedOutSpecialistId is { } silent)
        {
            alerts.Add(new OperatorAlert(AlertCondition.SlaBreach, referral.PartitionKey, referral.TimedOutAssignment.ToString(CultureInfo.InvariantCulture),
                new Dictionary<string, string> { [AlertWording.SpecialistId] = silent }));
        }

        return alerts;
    }
}
