using System.Text.RegularExpressions;

namespace Referrals.Bench.Chaos;

/// <summary>Extra copies of one kind of email: how many (referral, email) pairs SendGrid accepted more than once.</summary>
internal sealed record DuplicateCount(string Kind, int Distinct, int Duplicated, int ExtraCopies);

/// <summary>Everything a chaos run saw, and the verdict drawn from it.</summary>
internal sealed partial record ChaosVerdict(
    DateTimeOffset StartedAt,
    string Machine,
    string LoadAtStart,
    string LoadAtEnd,
    string AppCommit,
    string AzuriteVersion,
    ChaosOptions Options,
    IReadOnlyList<Submission> Submissions,
    IReadOnlyList<SendGridRequest> Requests,
    IReadOnlyList<(DateTimeOffset AnnouncedAt, DateTimeOffset ResetAt)> Bursts,
    FinalState Final,
    int Kills,
    int AzuriteRestarts,
    int UngracefulAzuriteStops,
    TimeSpan DrainTime,
    TimeSpan DrainAfterBurst,
    IReadOnlyList<(string Queue, string Reason, int Count)> PoisonReasons,
    int WebhookPosts,
    int WebhookNotDelivered,
    TimeSpan RunTime)
{
    public static readonly TimeSpan PoisonAlertGoal = TimeSpan.FromMinutes(5);
    public const double DuplicateGoalPerThousand = 1.0;

    /// <summary>The emails that route a referral: the specialist's offer, or the triage coordinator's notice.</summary>
    public static readonly HashSet<string> RoutingKinds = ["SpecialistNewReferral", "TriageNotice"];

    /// <summary>Where a referral may rest once its first emails are out.</summary>
    public static readonly HashSet<string> FinalStatuses = ["Notified", "NeedsTriage", "Accepted"];

    /// <summary>The kinds of email SendGrid accepted for each referral.</summary>
    public static Dictionary<string, HashSet<string>> EmailsByReferral(IReadOnlyList<SendGridRequest> requests) =>
        requests.Where(r => r.Accepted && r.ReferralId is not null)
            .GroupBy(r => r.ReferralId!)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Category).ToHashSet());

    /// <summary>The visitor's confirmation, and the specialist's offer or the triage notice.</summary>
    public static bool HasItsEmails(Dictionary<string, HashSet<string>> emails, string referralId) =>
        emails.TryGetValue(referralId, out var kinds) && kinds.Contains("VisitorConfirmation") && kinds.Overlaps(RoutingKinds);

    /// <summary>When SendGrid first accepted an operators' alert (or digest) naming this referral as failed.</summary>
    public static DateTimeOffset? PoisonAlertAt(IReadOnlyList<SendGridRequest> requests, string referralId) =>
        requests.Where(r => r.Accepted && r.Subject is not null && ConditionOf(r.Subject) == "Poison" && ReferencesIn(r).Contains(referralId))
            .Select(r => (DateTimeOffset?)r.ArrivedAt).Min();

    public IReadOnlyList<string> Accepted => [.. Submissions.Where(s => s.Reference is not null).Select(s => s.Reference!)];

    public IReadOnlyList<Submission> NotAccepted => [.. Submissions.Where(s => s.Reference is null)];

    /// <summary>Referrals whose confirmation the stand-in refused for good (<see cref="ChaosOptions.Reject"/>): they must end parked.</summary>
    public IReadOnlySet<string> RejectedReferrals => Requests.Where(r => r.Answer == Answer.Rejected && r.ReferralId is not null).Select(r => r.ReferralId!).ToHashSet();

    public IReadOnlySet<string> ParkedReferrals => Final.Parked.Where(p => p.ReferralId is not null).Select(p => p.ReferralId!).ToHashSet();

    /// <summary>Accepted referrals that are neither parked for operators nor at rest with their emails sent.</summary>
    public IReadOnlyList<(string ReferralId, string Why)> Lost()
    {
        var emails = EmailsByReferral(Requests);
        var parked = ParkedReferrals;
        var lost = new List<(string, string)>();
        foreach (var id in Accepted.Where(id => !parked.Contains(id)))
        {
            if (!Final.Statuses.TryGetValue(id, out var status))
            {
                lost.Add((id, "not in the Referrals table"));
            }
            else if (!FinalStatuses.Contains(status))
            {
                lost.Add((id, $"still {status}"));
            }
            else if (!HasItsEmails(emails, id))
            {
                var kinds = emails.TryGetValue(id, out var k) ? string.Join("+", k.Order()) : "none";
                lost.Add((id, $"{status} without its emails (SendGrid has: {kinds})"));
            }
        }

        return lost;
    }

    /// <summary>Referrals stored that no visitor was answered with, other than repeat stubs: a retry that made a second referral.</summary>
    public IReadOnlyList<(string ReferralId, string Status)> Unexpected()
    {
        var accepted = Accepted.ToHashSet();
        return [.. Final.Statuses.Where(s => !accepted.Contains(s.Key) && s.Value != "Duplicate").Select(s => (s.Key, s.Value))];
    }

    public IReadOnlyList<SendGridRequest> Early => [.. Requests.Where(r => r.Early)];

    /// <summary>Per kind: pairs (referral, ledger key) for the app's emails; (condition, referral) for operator alerts and digests.</summary>
    public IReadOnlyList<DuplicateCount> Duplicates()
    {
        var accepted = Requests.Where(r => r.Accepted).ToList();
        var emails = accepted.Where(r => r.ReferralId is not null && r.LedgerKey is not null)
            .GroupBy(r => (r.ReferralId, r.LedgerKey))
            .Select(g => (Kind: g.First().Category, Copies: g.Count()));
        var alerts = accepted.Where(r => r.Subject is not null)
            .SelectMany(r => ReferencesIn(r).Select(id => (Key: (ConditionOf(r.Subject!), id), Kind: $"operator alert: {ConditionOf(r.Subject!)}")))
            .GroupBy(a => a.Key)
            .Select(g => (g.First().Kind, Copies: g.Count()));
        return [.. emails.Concat(alerts)
            .GroupBy(e => e.Kind)
            .Select(g => new DuplicateCount(g.Key, g.Count(), g.Count(e => e.Copies > 1), g.Sum(e => e.Copies - 1)))
            .OrderBy(d => d.Kind, StringComparer.Ordinal)];
    }

    public double DuplicatesPerThousand()
    {
        var all = Duplicates();
        var distinct = all.Sum(d => d.Distinct);
        return distinct == 0 ? 0 : 1000.0 * all.Sum(d => d.ExtraCopies) / distinct;
    }

    /// <summary>Each parked referral and how long after parking the operators' alert was accepted (null: none).</summary>
    public IReadOnlyList<(string ReferralId, TimeSpan? AlertedAfter)> PoisonAlerts() =>
        [.. Final.Parked.Where(p => p.ReferralId is not null)
            .GroupBy(p => p.ReferralId!)
            .Select(g => (g.Key, PoisonAlertAt(Requests, g.Key) is { } at ? at - g.Min(p => p.ParkedAt) : (TimeSpan?)null))];

    /// <summary>What fails the run. The smoke run fails on loss, early requests and lost visitors; the full run on every goal.</summary>
    public IReadOnlyList<string> Failures()
    {
        var failures = new List<string>();
        void Check(bool failed, string what)
        {
            if (failed)
            {
                failures.Add(what);
            }
        }

        Check(Lost().Count > 0, $"{Lost().Count} accepted referrals lost");
        Check(Early.Count > 0, $"{Early.Count} requests reached SendGrid before a reset it had announced");
        Check(NotAccepted.Count > 0, $"{NotAccepted.Count} visitors never had their referral accepted");
        Check(Unexpected().Count > 0, $"{Unexpected().Count} referrals stored twice for one visitor");
        Check(Kills < Options.Kills || AzuriteRestarts < Options.AzuriteRestarts, "not every planned fault happened");
        if (!Options.Smoke)
        {
            Check(DuplicatesPerThousand() > DuplicateGoalPerThousand, $"{DuplicatesPerThousand():F2} duplicates per 1,000 emails");
            var late = PoisonAlerts().Count(p => p.AlertedAfter is null || p.AlertedAfter > PoisonAlertGoal);
            Check(late > 0, $"{late} parked referrals not alerted within {PoisonAlertGoal.TotalMinutes:F0} minutes");
        }

        return failures;
    }

    /// <summary>Which condition an alert or digest is about, from its subject (AlertWording's headlines and titles).</summary>
    public static string ConditionOf(string subject) => subject switch
    {
        _ when subject.Contains("still wait", StringComparison.Ordinal) => "PoisonWaiting",
        _ when subject.Contains("failed", StringComparison.Ordinal) => "Poison",
        _ when subject.Contains("triage", StringComparison.Ordinal) => "Triage",
        _ when subject.Contains("did not arrive", StringComparison.Ordinal) => "SpecialistBounce",
        _ when subject.Contains("answer", StringComparison.Ordinal) => "SlaBreach",
        _ => "other",
    };

    private static HashSet<string> ReferencesIn(SendGridRequest request) =>
        ReferenceId().Matches((request.Subject ?? "") + "\n" + (request.Text ?? "")).Select(m => m.Value).ToHashSet();

    [GeneratedRegex(@"\bR-[0-9A-Z]{5}-[0-9A-Z]{5}\b")]
    private static partial Regex ReferenceId();
}
