using Referrals.Core.Referrals;

namespace Referrals.Functions.Storage;

/// <summary>The referral row only stores a <see cref="ReferralCase"/>: the status machine lives in Core.</summary>
public static class ReferralCaseMapping
{
    public static ReferralCase ToCase(this ReferralEntity referral) =>
        new(new ReferralCaseState(referral.PartitionKey, referral.CurrentStatus, referral.ReceivedAt)
        {
            Urgent = referral.Urgent,
            Assignment = referral.Assignment,
            AssignedSpecialistId = referral.AssignedSpecialistId,
            AssignedAt = referral.AssignedAt,
            RoutingExplanation = referral.RoutingExplanation,
            Excluded = referral.ExcludedIds,
            UnansweredCount = referral.UnansweredCount,
            ReminderForAssignment = referral.ReminderForAssignment,
            TimedOutAssignment = referral.TimedOutAssignment,
            TimedOutSpecialistId = referral.TimedOutSpecialistId,
            StatusBeforeFailure = Enum.TryParse<ReferralStatus>(referral.StatusBeforeFailure, out var before) ? before : null,
            ErasedAt = referral.ErasedAt,
            DuplicateOf = referral.DuplicateOf,
            HistoryCount = referral.HistoryCount,
        });

    /// <summary>Copies the case's state onto the row; the personal details and the row's other columns are left as they are.</summary>
    public static void Apply(this ReferralEntity referral, ReferralCase referralCase)
    {
        if (referralCase.Id != referral.PartitionKey)
        {
            throw new ArgumentException($"The case is referral {referralCase.Id}, the row {referral.PartitionKey}.", nameof(referralCase));
        }

        referral.Status = referralCase.Status.ToString();
        referral.Urgent = referralCase.Urgent;
        referral.ReceivedAt = referralCase.ReceivedAt;
        referral.Assignment = referralCase.Assignment;
        referral.AssignedSpecialistId = referralCase.AssignedSpecialistId;
        referral.AssignedAt = referralCase.AssignedAt;
        referral.RoutingExplanation = referralCase.RoutingExplanation;
        referral.Excluded = string.Join(',', referralCase.Excluded);
        referral.UnansweredCount = referralCase.UnansweredCount;
        referral.ReminderForAssignment = referralCase.ReminderForAssignment;
        referral.TimedOutAssignment = referralCase.TimedOutAssignment;
        referral.TimedOutSpecialistId = referralCase.TimedOutSpecialistId;
        referral.StatusBeforeFailure = referralCase.StatusBeforeFailure?.ToString();
        referral.ErasedAt = referralCase.ErasedAt;
        referral.DuplicateOf = referralCase.DuplicateOf;
        referral.HistoryCount = referralCase.HistoryCount;
    }
}
