using Azure.Data.Tables;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Storage;

/// <summary>
/// The other half of erasure's ordering. Erasure marks the referral first and deletes derived rows after; anything
/// that writes rows derived from a referral writes first and checks this after, undoing its write when erased. One
/// of the two always sees the other, so nothing personal is re-created behind an erasure.
/// </summary>
public static class ErasureChecks
{
    /// <summary>True when the referral is erased (or withdrawn, or gone): nothing more may be sent or derived from it.</summary>
    public static async Task<bool> IsErasedAsync(this TableClient referrals, string referralId, CancellationToken cancellationToken)
    {
        var row = await referrals.GetEntityIfExistsAsync<ReferralEntity>(referralId, ReferralEntity.RowKeyValue,
            [nameof(ReferralEntity.Status), nameof(ReferralEntity.ErasedAt)], cancellationToken);
        return !row.HasValue || row.Value!.IsErased;
    }
}
