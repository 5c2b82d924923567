using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Operations.Console;

/// <summary>One referral in the operators' list and export; nothing personal (the export adds that on request).</summary>
public sealed record ReferralListItem(
    string Id,
    DateTimeOffset ReceivedAt,
    string Status,
    string? SpecialistId,
    string? Treatment,
    string? Topic,
    string? SourcePost,
    bool Urgent,
    bool PastSla,
    bool Erased)
{
    public static ReferralListItem From(IndexedReferral row, DateTimeOffset now, RoutingOptions sla) =>
        new(row.Id, row.ReceivedAt, row.Status.ToString(), row.SpecialistId, row.Treatment, row.Topic, row.SourcePost, row.Urgent,
            row.PastSla(now, sla.ReminderAfter, sla.UrgentReminderAfter), row.Erased);
}
