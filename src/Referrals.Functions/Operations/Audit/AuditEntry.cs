namespace Referrals.Functions.Operations.Audit;

/// <summary>
/// One operator action or view of personal fields: who (the key's name), what, on which referral (if any), and why.
/// <paramref name="Detail"/> holds ids and flags only (say, "personal=true; rows=12"), never personal or health data.
/// </summary>
public sealed record AuditEntry(DateTimeOffset At, string KeyName, string Action, string? ReferralId, string Reason, string? Detail = null);
