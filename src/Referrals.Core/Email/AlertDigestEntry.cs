namespace Referrals.Core.Email;

/// <summary>One referral in a digest: its reference, the queue when the condition has one, and its dashboard link.</summary>
public sealed record AlertDigestEntry(string Reference, string? Queue, string Link);
