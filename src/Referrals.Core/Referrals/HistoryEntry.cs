namespace Referrals.Core.Referrals;

/// <summary>A status change with its place in the referral's history (1 is the submission).</summary>
public sealed record HistoryEntry(int Sequence, StatusChange Change);
