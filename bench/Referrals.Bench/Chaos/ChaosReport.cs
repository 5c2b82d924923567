using System.Globalization;

namespace Referrals.Bench.Chaos;

/// <summary>Prints a chaos run's verdict as markdown tables.</summary>
internal static class ChaosReport
{
    public static void Print(ChaosVerdict v, TextWriter output)
    {
        var lost = v.Lost();
        var early = v.Early;
        var duplicates = v.Duplicates();
        var perThousand = v.DuplicatesPerThousand();
        var alerts = v.PoisonAlerts();
        var alertedInTime = alerts.Count(a => a.AlertedAfter <= ChaosVerdict.PoisonAlertGoal);
        var accepted = v.Requests.Count(r => r.Accepted);
        string Met(bool met) => met ? "yes" : "**no**";
        string N(double d) => d.ToString("0.##", CultureInfo.InvariantCulture);

        output.WriteLine($"## Chaos run{(v.Options.Smoke ? " (smoke)" : "")}");
        output.WriteLine();
        output.WriteLine("| figure | value | goal | met |");
        output.WriteLine("|---|---|---|---|");
        output.WriteLine($"| date, machine | {v.StartedAt:yyyy-MM-dd HH:mm} UTC, {v.Machine}; load average {v.LoadAtStart} → {v.LoadAtEnd} | | |");
        output.WriteLine($"| software | app commit {v.AppCommit}; DevHost Release build; Azurite {v.AzuriteVersion} (disk mode) | | |");
        output.WriteLine($"| settings | {v.Options.Describe()} | | |");
        output.WriteLine($"| referrals accepted | {v.Accepted.Count} of {v.Submissions.Count} visitors ({v.Submissions.Sum(s => s.Attempts)} POSTs with retries; {v.Submissions.Count(s => s.Attempts > 1)} visitors retried with their Idempotency-Key) | all | {Met(v.NotAccepted.Count == 0)} |");
        output.WriteLine($"| faults | {v.Kills} SIGKILLs of the DevHost; {v.AzuriteRestarts} Azurite restarts ({v.UngracefulAzuriteStops} had to be killed) | {v.Options.Kills}; {v.Options.AzuriteRestarts} | {Met(v.Kills >= v.Options.Kills && v.AzuriteRestarts >= v.Options.AzuriteRestarts)} |");
        output.WriteLine($"| **accepted referrals lost** | {lost.Count} | 0 | {Met(lost.Count == 0)} |");
        output.WriteLine($"| final states | {string.Join(", ", v.Accepted.GroupBy(id => v.Final.Statuses.GetValueOrDefault(id, "missing")).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))} | | |");
        var unexpected = v.Unexpected();
        var unexpectedStatuses = unexpected.Count == 0 ? "" : $" ({string.Join(", ", unexpected.GroupBy(u => u.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))})";
        output.WriteLine($"| referrals stored twice for one visitor | {unexpected.Count}{unexpectedStatuses} | 0 | {Met(unexpected.Count == 0)} |");
        output.WriteLine($"| SendGrid requests | {v.Requests.Count}: {accepted} accepted ({v.Requests.Count(r => r.Answer == Answer.Hung)} of them hung past the attempt timeout), {v.Requests.Count(r => r.Answer == Answer.ServerError)} answered 5xx, {v.Requests.Count(r => r.Answer == Answer.RateLimited)} answered 429 in {v.Bursts.Count} bursts, {v.Requests.Count(r => r.Answer == Answer.Rejected)} refused with 400 ({v.RejectedReferrals.Count} referrals' confirmations) | | |");
        output.WriteLine($"| duplicates | {duplicates.Sum(d => d.ExtraCopies)} extra copies of {duplicates.Sum(d => d.Distinct)} distinct emails (by kind below) | | |");
        output.WriteLine($"| duplicates per 1,000 emails | {N(perThousand)} | ≤ 1 | {Met(perThousand <= ChaosVerdict.DuplicateGoalPerThousand)} |");
        output.WriteLine($"| **requests before an announced reset** | {early.Count} (a request within {v.Options.InFlightAllowance.TotalSeconds:F0} s of the 429 was already under way and is not counted) | 0 | {Met(early.Count == 0)} |");
        output.WriteLine($"| left in poison | {v.Final.Parked.Count} parked ({v.ParkedReferrals.Count} referrals: {v.ParkedReferrals.Count(v.RejectedReferrals.Contains)} whose confirmation SendGrid refused for good, {v.ParkedReferrals.Count(id => !v.RejectedReferrals.Contains(id))} others); left in the poison queues: {string.Join(", ", v.Final.PoisonQueueDepths.Select(d => $"{d.Key} {d.Value}"))} | | |");
        output.WriteLine($"| parked referrals alerted to operators within 5 minutes | {alertedInTime} of {alerts.Count}{(alerts.Any(a => a.AlertedAfter is null) ? $" ({alerts.Count(a => a.AlertedAfter is null)} not alerted when the run ended)" : "")}{(alerts.Any(a => a.AlertedAfter is not null) ? $" (slowest alerted after {N(alerts.Max(a => a.AlertedAfter ?? TimeSpan.Zero).TotalSeconds)} s)" : "")} | all | {Met(alertedInTime == alerts.Count)} |");
        output.WriteLine($"| time to drain after the last fault | {N(v.DrainTime.TotalSeconds)} s ({N(v.DrainAfterBurst.TotalSeconds)} s after the last fault and the last visitor's answer, whichever came later) | | |");
        output.WriteLine($"| Event Webhook posts | {v.WebhookPosts} delivered, {v.WebhookNotDelivered} not | | |");
        output.WriteLine($"| run time | {N(v.RunTime.TotalSeconds)} s | | |");
        output.WriteLine();

        output.WriteLine("Duplicates by kind:");
        output.WriteLine();
        output.WriteLine("| kind | distinct | sent more than once | extra copies |");
        output.WriteLine("|---|---|---|---|");
        foreach (var d in duplicates)
        {
            output.WriteLine($"| {d.Kind} | {d.Distinct} | {d.Duplicated} | {d.ExtraCopies} |");
        }

        output.WriteLine();
        if (v.PoisonReasons.Count > 0)
        {
            output.WriteLine("Why messages reached poison (the last failure the DevHost logged for each):");
            output.WriteLine();
            output.WriteLine("| queue | reason | messages |");
            output.WriteLine("|---|---|---|");
            foreach (var (queue, reason, count) in v.PoisonReasons)
            {
                output.WriteLine($"| {queue} | {reason} | {count} |");
            }

            output.WriteLine();
        }

        foreach (var (id, why) in lost.Take(20))
        {
            output.WriteLine($"- lost: {id}: {why}");
        }

        foreach (var request in early.Take(20))
        {
            output.WriteLine($"- early: {request.Category} for {request.ReferralId ?? "operators"} at {request.ArrivedAt:HH:mm:ss.fff}");
        }

        foreach (var visitor in v.NotAccepted.Take(20))
        {
            output.WriteLine($"- not accepted: visitor {visitor.Index} after {visitor.Attempts} POSTs, last answer {(int?)visitor.RefusedWith}");
        }
    }
}
