using System.Globalization;

namespace Referrals.Bench.Pipeline;

/// <summary>Prints a run's figures as markdown: the details first, then one table with each issue 9 goal next to its figure.</summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static void Print(PipelineResults r, TextWriter output)
    {
        var seq = r.Sequential;
        output.WriteLine();
        Line(output, $"### Storage requests per referral ({seq.Referrals} sequential referrals, happy path)");
        output.WriteLine();
        PrintRequests(seq.Requests, seq.Referrals, output);
        output.WriteLine();
        Line(output, $"Routed to a specialist: {seq.Routing.ToSpecialist}; to triage: {seq.Routing.ToTriage} (Routing:MaxOpenOffers 500; weekly capacity still bounds the offers).");

        output.WriteLine();
        output.WriteLine("### Bursts");
        output.WriteLine();
        output.WriteLine("| burst | accepted | intake p50 | intake p99 | first POST to last email | end to end | max queue depth | storage requests per referral (without receives) | specialist / triage |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var b in new[] { r.SmallBurst, r.Burst }.OfType<BurstResult>())
        {
            var refused = b.Refused.Count == 0 ? "" : " (refused: " + string.Join(", ", b.Refused.Select(x => $"{x.Value} × {x.Key}")) + ")";
            var intake = $"{Ms(Percentiles.Of(b.IntakeLatencies, 50))} | {Ms(Percentiles.Of(b.IntakeLatencies, 99))}";
            var cost = $"{PerReferral(b.Requests.Total, b.Accepted)} ({PerReferral(b.Requests.Total - b.Requests.Receives, b.Accepted)})";
            Line(output, $"| {b.Referrals} at concurrency {b.Concurrency} | {b.Accepted}{refused} | {intake} | {b.FirstPostToLastEmail.TotalSeconds:F1} s | {b.ReferralsPerSecond:F1} referrals/s | {b.MaxQueueDepth} | {cost} | {b.Routing.ToSpecialist} / {b.Routing.ToTriage} |");
        }

        output.WriteLine();
        output.WriteLine("### Emails per recipient at the SendGrid stand-in (whole run)");
        output.WriteLine();
        output.WriteLine("| recipient | requests |");
        output.WriteLine("|---|---|");
        var visitors = r.RequestsPerRecipient.Where(x => x.Key.EndsWith(r.VisitorDomain, StringComparison.OrdinalIgnoreCase)).ToList();
        Line(output, $"| visitors: {visitors.Count} addresses | {visitors.Sum(v => v.Value)} (at most {(visitors.Count == 0 ? 0 : visitors.Max(v => v.Value))} to one) |");
        foreach (var (recipient, count) in r.RequestsPerRecipient.Where(x => !x.Key.EndsWith(r.VisitorDomain, StringComparison.OrdinalIgnoreCase)).OrderByDescending(x => x.Value))
        {
            Line(output, $"| {recipient} | {count} |");
        }

        var requests = (double)seq.Requests.Total / seq.Referrals;
        var withoutReceives = (double)(seq.Requests.Total - seq.Requests.Receives) / seq.Referrals;
        var ratio = r.Burst.ReferralsPerSecond / r.RoundsPerSecond32;
        var intakeP99 = Percentiles.Of(r.Burst.IntakeLatencies, 99);
        var idle50 = Percentiles.Of(seq.EndToEnd, 50);
        var idle95 = Percentiles.Of(seq.EndToEnd, 95);
        var idle99 = Percentiles.Of(seq.EndToEnd, 99);
        var rss = Math.Max(r.PeakRssMiB, r.HighWaterRssMiB ?? 0);
        var flat = r.SmallBurst is { } s ? $"; {s.Referrals} burst: {s.ReferralsPerSecond:F1}/s" : "";

        output.WriteLine();
        output.WriteLine("### Figures against the goals of issue 9");
        output.WriteLine();
        output.WriteLine("| figure | measured | goal | met |");
        output.WriteLine("|---|---|---|---|");
        Line(output, $"| date | {r.StartedAt:yyyy-MM-dd HH:mm} UTC, {r.Duration.TotalMinutes:F1} min; app (src/) at commit {r.Commit} | | |");
        Line(output, $"| machine | {r.Machine}; load average at start {r.LoadAtStart} | | |");
        Line(output, $"| software | Azurite {r.AzuriteVersion} (disk mode, request log on); {r.Runtime}; DevHost Release build | | |");
        var clients = r.Options.OneClient ? "all from one client address" : "each visitor from its own IPv6 /64 (X-Forwarded-For)";
        var small = r.SmallBurst is null ? "" : $"{r.SmallBurst.Referrals} then ";
        Line(output, $"| run | {seq.Referrals} sequential referrals; bursts of {small}{r.Burst.Referrals} at concurrency {r.Burst.Concurrency}; {clients} | | |");
        Line(output, $"| Azurite referral rounds/s, concurrency 8 / 32 | {r.RoundsPerSecond8:F1} / {r.RoundsPerSecond32:F1} | | |");
        Line(output, $"| storage requests per referral, happy path ({seq.Referrals} sequential) | {requests:F1} | ≤ 14 | {Met(requests <= 14)} |");
        Line(output, $"| the same without queue receives | {withoutReceives:F1} | ≤ 14 | {Met(withoutReceives <= 14)} |");
        Line(output, $"| end-to-end referrals/s, {r.Burst.Referrals} burst at concurrency {r.Burst.Concurrency} | {r.Burst.ReferralsPerSecond:F1}{flat} | | |");
        Line(output, $"| ratio: end-to-end ({r.Burst.Referrals} burst) / referral rounds (concurrency 32) | {ratio:F2} | ≥ 0.8 | {Met(ratio >= 0.8)} |");
        Line(output, $"| intake p99 during the {r.Burst.Referrals} burst (p50) | {Ms(intakeP99)} ({Ms(Percentiles.Of(r.Burst.IntakeLatencies, 50))}) | < 250 ms at concurrency 32 | {Met(intakeP99 < TimeSpan.FromMilliseconds(250))} |");
        Line(output, $"| idle end to end p50 | {Sec(idle50)} | < 1 s | {Met(idle50 < TimeSpan.FromSeconds(1))} |");
        Line(output, $"| idle end to end p99 (p95) | {Sec(idle99)} ({Sec(idle95)}) | < 3 s | {Met(idle99 < TimeSpan.FromSeconds(3))} |");
        Line(output, $"| max total queue depth ({r.Burst.Referrals} burst) | {r.Burst.MaxQueueDepth} | | |");
        Line(output, $"| DevHost peak RSS | {rss:F0} MiB | < 250 MB | {Met(rss < 250)} |");
    }

    private static void PrintRequests(RequestCount count, int referrals, TextWriter output)
    {
        output.WriteLine("| service | table or queue | request | total | per referral |");
        output.WriteLine("|---|---|---|---|---|");
        foreach (var (kind, n) in count.ByKind.OrderBy(k => k.Key.Service).ThenByDescending(k => k.Value).ThenBy(k => k.Key.Name, StringComparer.Ordinal))
        {
            Line(output, $"| {kind.Service} | {kind.Name} | {kind.Operation} | {n} | {PerReferral(n, referrals)} |");
        }

        Line(output, $"| **all** | | | {count.Total} | **{PerReferral(count.Total, referrals)}** |");
        Line(output, $"| **without queue receives** | | | {count.Total - count.Receives} | **{PerReferral(count.Total - count.Receives, referrals)}** |");
    }

    private static void Line(TextWriter output, FormattableString line) => output.WriteLine(FormattableString.Invariant(line));

    private static string PerReferral(int n, int referrals) => ((double)n / referrals).ToString("F1", Invariant);

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds.ToString("F0", Invariant)} ms";

    private static string Sec(TimeSpan t) => $"{t.TotalSeconds.ToString("F2", Invariant)} s";

    private static string Met(bool met) => met ? "yes" : "**no**";
}
