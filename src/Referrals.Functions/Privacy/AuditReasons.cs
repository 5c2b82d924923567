using Referrals.Functions.Storage;

namespace Referrals.Functions.Privacy;

/// <summary>An operator's reason outlives the erasure, so the referral's own values are blanked out of it first.</summary>
public static class AuditReasons
{
    public const int MaxLength = 500;
    private const string Blank = "[erased]";

    public static string Scrub(string reason, ReferralEntity referral)
    {
        var values = new[] { referral.Name, referral.Email, referral.Phone, referral.Insurance, referral.Message }
            .Concat(referral.Name.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Append(referral.Email.Split('@')[0])
            .Append(referral.Phone?.TrimStart('+'))
            .Append(referral.Phone is { Length: > 10 } phone ? phone[^10..] : null)
            .Where(v => v is { Length: >= 3 })
            .OrderByDescending(v => v!.Length); // longest first, so a full name goes before its parts
        var scrubbed = reason.Trim();
        foreach (var value in values)
        {
            scrubbed = scrubbed.Replace(value!, Blank, StringComparison.OrdinalIgnoreCase);
        }

        return scrubbed.Length > MaxLength ? scrubbed[..MaxLength] : scrubbed;
    }
}
