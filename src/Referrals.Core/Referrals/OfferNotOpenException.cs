namespace Referrals.Core.Referrals;

/// <summary>
/// An answer (accept, decline), a timeout or a reminder for an offer that is not the referral's open one: another
/// specialist, an earlier assignment, or no specialist waiting to answer at all.
/// </summary>
public sealed class OfferNotOpenException(string referralId, ReferralStatus status, string? specialistId, int assignment)
    : InvalidOperationException($"Referral {referralId} is {status} and is not waiting for {(specialistId is null ? "an answer" : $"specialist {specialistId}'s answer")} on assignment {assignment}.")
{
    public ReferralStatus Status { get; } = status;
    public string? SpecialistId { get; } = specialistId;
    public int Assignment { get; } = assignment;
}
