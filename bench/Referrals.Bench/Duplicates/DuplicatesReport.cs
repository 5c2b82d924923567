using System.Globalization;

namespace Referrals.Bench.Duplicates;

/// <summary>What one run measured; the counts come from the stand-in's accepted requests.</summary>
internal sealed record DuplicatesResults(
    DateTimeOffset StartedAt,
    string Machine,
    string LoadAtStart,
    string LoadAtEnd,
    string AppCommit,
    DuplicatesOptions Options,
    int ReferralsAccepted,
    IReadOnlyList<AcceptedRequest> Requests,
    int Unreadable,
    int WebhookPosted,
    int WebhookRefused,
    int WebhookFailed,
    TimeSpan RunTime);

/// <summary>Prints a run as one markdown table: settings first, then the counts issue 9's goal is about.</summary>
internal static class DuplicatesReport
{
    public static void Print(DuplicatesResults r, TextWriter output)
    {
        var o = r.Options;
        var pairs = r.Requests.GroupBy(a => (a.ReferralId, a.LedgerKey)).ToList();
        var duplicated = pairs.Where(p => p.Count() > 1).ToList();
        var extra = duplicated.Sum(p => p.Count() - 1);
        // A duplicate the stand-in's hang explains: the first copy of the email hung, so the app could not know it went.
        var afterHang = duplicated.Count(p => p.OrderBy(a => a.At).First().Hung);
        var hung = r.Requests.Where(a => a.Hung).ToList();
        var perThousand = pairs.Count == 0 ? 0 : 1000.0 * duplicated.Count / pairs.Count;

        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        output.WriteLine();
        output.WriteLine(F($"### duplicates, webhook {(o.Webhook ? "on" : "off")}: {r.ReferralsAccepted} referrals, hang {o.Hang:P0}"));
        output.WriteLine();
        output.WriteLine("| figure | value |");
        output.WriteLine("|---|---|");
        output.WriteLine(F($"| settings | --referrals {o.Referrals} --hang {o.Hang} --webhook {(o.Webhook ? "on" : "off")} --grace {o.Grace:c} --attempt-timeout {o.AttemptTimeout:c} --webhook-delay {o.WebhookDelayMin.TotalSeconds}-{o.WebhookDelayMax.TotalSeconds} --concurrency {o.Concurrency} |"));
        output.WriteLine(F($"| emails accepted (requests answered 202) | {r.Requests.Count} |"));
        output.WriteLine(F($"| distinct (referral_id, ledger_key) pairs | {pairs.Count} |"));
        output.WriteLine(F($"| duplicates (pairs accepted more than once) | {duplicated.Count} ({extra} extra copies; {afterHang} after a hung first copy) |"));
        output.WriteLine(F($"| duplicates per 1,000 emails | {perThousand:F1} |"));
        output.WriteLine(F($"| hung requests (answered after the attempt timeout + 1 s) | {hung.Count} ({hung.Count(h => h.Abandoned)} abandoned by the app's timeout) |"));
        output.WriteLine(o.Webhook
            ? F($"| webhook posts (answered 200 / refused / no answer) | {r.WebhookPosted} / {r.WebhookRefused} / {r.WebhookFailed} |")
            : "| webhook posts | none (no Email:EventWebhookPublicKey: the app sends an unknown outcome again at once) |");
        if (r.Unreadable > 0)
        {
            output.WriteLine(F($"| requests without the app's custom_args | {r.Unreadable} |"));
        }

        output.WriteLine(F($"| run time | {r.RunTime.TotalSeconds:F0} s |"));
        output.WriteLine(F($"| date, machine | {r.StartedAt:yyyy-MM-dd HH:mm} UTC, {r.Machine} |"));
        output.WriteLine(F($"| load average (start / end) | {r.LoadAtStart} / {r.LoadAtEnd} |"));
        output.WriteLine(F($"| app commit | {r.AppCommit} |"));
    }
}
