using Referrals.Core.Security;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// The IntakeGuards partition keys derived from a referral's personal data, and the hash of its submission. Derived
/// in one place so that intake, the reconciler, the notifications and erasure (through GuardKeys) always agree.
/// </summary>
public static class IntakeKeys
{
    public const string IdempotencyPrefix = "idem-";
    public const string DedupePrefix = "dedupe-";
    public const string EmailLimitPrefix = "email-";

    /// <summary>An Idempotency-Key (or a form stamp's id) is scoped to the client that sent it.</summary>
    public static string Idempotency(KeyedHash hash, string clientHash, string key) => IdempotencyPrefix + hash.Of("idempotency", $"{clientHash}|{key}");

    public static string Dedupe(KeyedHash hash, ReferralEntity referral) => DedupePrefix + hash.Of("dedupe", $"{referral.Email.ToLowerInvariant()}|{referral.Treatment}");

    /// <summary>The per-address daily count of accepted submissions (the per-email limit).</summary>
    public static string EmailLimit(KeyedHash hash, string email) => EmailLimitPrefix + hash.Of("email-limit", email.Trim().ToLowerInvariant());

    /// <summary>
    /// The submission as stored (normalised by validation), so a replay with the same key can be told from another
    /// body, and the reconciler can compute it again from the stored row.
    /// </summary>
    public static string Submission(KeyedHash hash, ReferralEntity r) => hash.Of("submission", string.Join('\u001f',
        r.Name, r.Email, r.Phone, r.State, r.Treatment, r.ContactMethod, r.Insurance, r.Message, r.Urgent ? "urgent" : "",
        r.Topic, r.SourcePost, r.Utm, r.Language, r.VisitPreference));

    public static string Join(params string?[] keys) => string.Join(',', keys.Where(k => !string.IsNullOrEmpty(k)));

    public static string? Find(string? guardKeys, string prefix) =>
        guardKeys?.Split(',', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(k => k.StartsWith(prefix, StringComparison.Ordinal));
}
