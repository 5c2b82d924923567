using Referrals.Core.Email;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// One condition for one referral, raised at most once: <see cref="Scope"/> tells apart what may rightly happen again
/// (another queue, assignment or email). <see cref="Facts"/> are ids only (<see cref="AlertWording"/>).
/// </summary>
public sealed record OperatorAlert(AlertCondition Condition, string ReferralId, string? Scope = null, IReadOnlyDictionary<string, string>? Facts = null);
