namespace Referrals.Core.Referrals;

/// <summary>A referral as the pipeline knows it. Contact details are personal data: never log them.</summary>
public sealed record Referral(
    string Id,
    string Name,
    string Email,
    string State,
    string Treatment,
    ReferralStatus Status,
    DateTimeOffset ReceivedAt,
    string? AssignedSpecialistId = null,
    int Assignment = 0);
