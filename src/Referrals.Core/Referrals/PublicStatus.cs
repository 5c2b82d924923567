namespace Referrals.Core.Referrals;

/// <summary>
/// What anyone holding a reference may learn: a coarse status word and dates. The pipeline's own steps (routed,
/// notified, triage, a failed attempt) and a duplicate's stub all read "received", so the answer reveals neither
/// the pipeline's inner workings nor whether the reference belongs to a repeat submission.
/// </summary>
public static class PublicStatus
{
    public const string Received = "received";
    public const string Accepted = "accepted";
    public const string Withdrawn = "withdrawn";

    /// <param name="beforeFailure">For a Failed referral, the status it failed in: a glitch never changes the word.</param>
    public static string Of(ReferralStatus status, ReferralStatus? beforeFailure = null) => status switch
    {
        ReferralStatus.Accepted => Accepted,
        ReferralStatus.Withdrawn => Withdrawn,
        ReferralStatus.Failed when beforeFailure is { } before and not ReferralStatus.Failed => Of(before),
        _ => Received,
    };

    /// <summary>When the public word last changed, from the history; <paramref name="fallback"/> when it tells nothing.</summary>
    public static DateTimeOffset ChangedAt(IEnumerable<StatusChange> history, DateTimeOffset fallback)
    {
        string? word = null;
        var changedAt = fallback;
        foreach (var change in history)
        {
            if (change.Status == ReferralStatus.Failed)
            {
                continue; // keeps the word it failed in
            }

            var next = Of(change.Status);
            if (next != word)
            {
                word = next;
                changedAt = change.At;
            }
        }

        return changedAt;
    }
}
