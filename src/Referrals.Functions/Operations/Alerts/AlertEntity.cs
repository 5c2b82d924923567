using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Referrals.Core.Email;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// One raised alert, in its condition's partition of the EmailLedger table (<c>alert-{Condition}</c>, row key the
/// referral and scope). Added once (a second raise meets 409), then Pending until an alert or digest claims it,
/// Claimed while that email is sent, and Sent afterwards, when its facts are dropped.
/// </summary>
public sealed class AlertEntity : ITableEntity
{
    public const string Pending = "Pending";
    public const string Claimed = "Claimed";
    public const string Sent = "Sent";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string ReferralId { get; set; } = "";
    public string? Scope { get; set; }
    public string State { get; set; } = Pending;
    public DateTimeOffset RaisedAt { get; set; }
    public DateTimeOffset? ClaimedAt { get; set; }
    public DateTimeOffset? SentAt { get; set; }

    /// <summary>The ledger key of the alert or digest that carried it.</summary>
    public string? SentAs { get; set; }

    /// <summary>The alert's facts as JSON, kept only until it is sent.</summary>
    public string? Facts { get; set; }

    public static string PartitionFor(AlertCondition condition) => $"alert-{condition}";

    /// <summary>Table keys refuse '/', '\', '#' and '?': scopes are escaped.</summary>
    public static string RowKeyFor(string referralId, string? scope) =>
        scope is null ? referralId : $"{referralId}-{Uri.EscapeDataString(scope)}";

    public static AlertEntity Raised(OperatorAlert alert, DateTimeOffset at) => new()
    {
        PartitionKey = PartitionFor(alert.Condition),
        RowKey = RowKeyFor(alert.ReferralId, alert.Scope),
        ReferralId = alert.ReferralId,
        Scope = alert.Scope,
        RaisedAt = at,
        Facts = alert.Facts is { Count: > 0 } facts ? JsonSerializer.Serialize(facts) : null,
    };

    public IReadOnlyDictionary<string, string> FactValues() =>
        Facts is null ? new Dictionary<string, string>() : JsonSerializer.Deserialize<Dictionary<string, string>>(Facts) ?? [];

    /// <summary>Due for an alert or digest: never claimed, released after a failed send, or claimed by a sender that died.</summary>
    public bool IsDue(DateTimeOffset now, TimeSpan claimTimeout) =>
        State == Pending || (State == Claimed && ClaimedAt <= now - claimTimeout);
}
