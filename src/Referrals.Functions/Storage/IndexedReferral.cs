using System.Globalization;
using Azure.Data.Tables;
using Referrals.Core.Referrals;

namespace Referrals.Functions.Storage;

/// <summary>
/// One row of the <c>ReferralIndex</c> table as operators' lists read it. Keys: PartitionKey the received day, inverted
/// (<see cref="PartitionKeyFor"/>), so one range query over a date range returns the newest day first; RowKey the
/// inverted received ticks and the id, newest first within the day. Emails are columns of their own
/// (<see cref="MailPrefix"/> + ledger key = "state|time"; <see cref="BouncePrefix"/> + ledger key = time), so each
/// writer merges only what it knows, without reading the row first.
/// </summary>
public sealed record IndexedReferral(
    string Id,
    DateTimeOffset ReceivedAt,
    ReferralStatus Status,
    string? SpecialistId,
    DateTimeOffset? AssignedAt,
    string? Treatment,
    string? Topic,
    string? SourcePost,
    bool Urgent,
    bool Erased,
    IReadOnlyDictionary<ReferralStatus, DateTimeOffset> Marks,
    IReadOnlyList<IndexedEmail> Emails)
{
    public const string MailPrefix = "Mail_";
    public const string BouncePrefix = "Bounce_";

    /// <summary>The statuses whose latest time is kept as a mark (a column named status + "At").</summary>
    public static readonly IReadOnlyList<ReferralStatus> Marked =
        [ReferralStatus.Routed, ReferralStatus.NeedsTriage, ReferralStatus.Notified, ReferralStatus.Accepted, ReferralStatus.Failed, ReferralStatus.Withdrawn];

    public static string MarkColumn(ReferralStatus status) => status + "At";

    /// <summary>
    /// 99999999 minus yyyyMMdd (UTC): later days sort first. The day itself is in the <c>Day</c> column for people.
    /// </summary>
    public static string PartitionKeyFor(DateTimeOffset receivedAt) =>
        (99999999 - int.Parse(DayOf(receivedAt), CultureInfo.InvariantCulture)).ToString("D8", CultureInfo.InvariantCulture);

    public static string DayOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    public static string RowKeyFor(string referralId, DateTimeOffset receivedAt) =>
        $"{DateTimeOffset.MaxValue.UtcTicks - receivedAt.UtcTicks:D19}-{referralId}";

    /// <summary>A ledger key as a column name: letters, digits and underscores only.</summary>
    public static string EmailColumn(string prefix, string ledgerKey) =>
        prefix + string.Concat(ledgerKey.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    /// <summary>Open: still waiting for someone (the pipeline, a specialist, the triage coordinator or an operator).</summary>
    public bool IsOpen => !Erased && Status is ReferralStatus.Received or ReferralStatus.Routed or ReferralStatus.Notified or ReferralStatus.NeedsTriage or ReferralStatus.Failed;

    /// <summary>
    /// Offered to a specialist who has not answered within the reminder time (the SLA the monitor reminds at). An
    /// erased stub waits for nobody, whatever status retention left it.
    /// </summary>
    public bool PastSla(DateTimeOffset now, TimeSpan reminderAfter, TimeSpan urgentReminderAfter) =>
        !Erased && Status is ReferralStatus.Routed or ReferralStatus.Notified && AssignedAt is { } at && at <= now - (Urgent ? urgentReminderAfter : reminderAfter);

    public DateTimeOffset? MarkOf(ReferralStatus status) => Marks.TryGetValue(status, out var at) ? at : null;

    public static IndexedReferral From(TableEntity row)
    {
        var erased = row.GetBoolean("Erased") == true;
        var marks = new Dictionary<ReferralStatus, DateTimeOffset>();
        foreach (var marked in Marked)
        {
            if (row.GetDateTimeOffset(MarkColumn(marked)) is { } at)
            {
                marks[marked] = at;
            }
        }

        var emails = new List<IndexedEmail>();
        foreach (var (name, value) in row)
        {
            if (name.StartsWith(MailPrefix, StringComparison.Ordinal) && value is string mail && mail.Split('|') is [var state, var at]
                && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var when))
            {
                emails.Add(new IndexedEmail(name[MailPrefix.Length..], state, when, null));
            }
        }

        foreach (var (name, value) in row)
        {
            if (name.StartsWith(BouncePrefix, StringComparison.Ordinal) && value is DateTimeOffset bounced)
            {
                var key = name[BouncePrefix.Length..];
                var index = emails.FindIndex(e => e.Key == key);
                if (index >= 0)
                {
                    emails[index] = emails[index] with { BouncedAt = bounced };
                }
                else
                {
                    emails.Add(new IndexedEmail(key, "", null, bounced));
                }
            }
        }

        // An erased referral shows nothing but its reference, status and dates, even if a late write put values back.
        return new IndexedReferral(
            row.GetString("Id") ?? row.RowKey[(row.RowKey.IndexOf('-', StringComparison.Ordinal) + 1)..],
            row.GetDateTimeOffset("ReceivedAt") ?? DateTimeOffset.MinValue,
            Enum.TryParse<ReferralStatus>(row.GetString("Status"), out var status) ? status : ReferralStatus.Received,
            erased ? null : Blank(row.GetString("SpecialistId")),
            row.GetDateTimeOffset("AssignedAt"),
            erased ? null : Blank(row.GetString("Treatment")),
            erased ? null : Blank(row.GetString("Topic")),
            erased ? null : Blank(row.GetString("SourcePost")),
            !erased && row.GetBoolean("Urgent") == true,
            erased,
            marks,
            erased ? [] : emails);
    }

    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>One email of a referral as the index knows it: its latest state and time, and when it bounced (if it did).</summary>
public sealed record IndexedEmail(string Key, string State, DateTimeOffset? At, DateTimeOffset? BouncedAt);
