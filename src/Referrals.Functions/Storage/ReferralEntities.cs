using Azure;
using Azure.Data.Tables;
using Referrals.Core.Referrals;

namespace Referrals.Functions.Storage;

/// <summary>The referral row. History rows share its partition so a transition and its history entry commit together.</summary>
public sealed class ReferralEntity : ITableEntity
{
    public const string RowKeyValue = "referral";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = RowKeyValue;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Name { get; set; } = "";
    public string Email { get; set; } = "";
    public string State { get; set; } = "";
    public string Treatment { get; set; } = "";
    public string Status { get; set; } = nameof(ReferralStatus.Received);
    public DateTimeOffset ReceivedAt { get; set; }
    public string? Phone { get; set; }
    public string ContactMethod { get; set; } = nameof(Core.Referrals.ContactMethod.Email);
    public string? Insurance { get; set; }
    public string? Message { get; set; }
    public bool Urgent { get; set; }

    // Source attribution: which post and link produced the referral. No personal data.
    public string? Topic { get; set; }
    public string? SourcePost { get; set; }
    public string? Utm { get; set; }

    public string? AssignedSpecialistId { get; set; }
    public string? RoutingExplanation { get; set; }
    public int HistoryCount { get; set; }

    public ReferralStatus CurrentStatus => Enum.Parse<ReferralStatus>(Status);

    public static ReferralEntity From(string id, ValidReferral referral, DateTimeOffset receivedAt) => new()
    {
        PartitionKey = id,
        Name = referral.Name,
        Email = referral.Email,
        State = referral.State,
        Treatment = referral.Treatment,
        Phone = referral.Phone,
        ContactMethod = referral.ContactMethod.ToString(),
        Insurance = referral.Insurance,
        Message = referral.Message,
        Urgent = referral.Urgent,
        Topic = referral.Source?.Topic,
        SourcePost = referral.Source?.Post,
        Utm = referral.Source is { Utm.Count: > 0 } source ? System.Text.Json.JsonSerializer.Serialize(source.Utm) : null,
        ReceivedAt = receivedAt,
    };

    public Referral ToReferral() =>
        new(PartitionKey, Name, Email, State, Treatment, CurrentStatus, ReceivedAt, AssignedSpecialistId);
}

public sealed class HistoryEntity : ITableEntity
{
    public const string RowKeyPrefix = "history-";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Status { get; set; } = "";
    public DateTimeOffset At { get; set; }
    public string Actor { get; set; } = "";
    public string Reason { get; set; } = "";

    public static string RowKeyFor(int sequence) => $"{RowKeyPrefix}{sequence:D5}";

    public static HistoryEntity From(string referralId, int sequence, StatusChange change) => new()
    {
        PartitionKey = referralId,
        RowKey = RowKeyFor(sequence),
        Status = change.Status.ToString(),
        At = change.At,
        Actor = change.Actor.ToString(),
        Reason = change.Reason,
    };

    public StatusChange ToStatusChange() =>
        new(Enum.Parse<ReferralStatus>(Status), At, Enum.Parse<Actor>(Actor), Reason);
}

public sealed class SpecialistEntity : ITableEntity
{
    public const string PartitionKeyValue = "specialist";

    public string PartitionKey { get; set; } = PartitionKeyValue;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Name { get; set; } = "";
    public string Email { get; set; } = "";
    public string LicensedStates { get; set; } = "";
    public string Treatments { get; set; } = "";
    public bool AcceptingNewPatients { get; set; }

    public static SpecialistEntity From(Core.Routing.Specialist specialist) => new()
    {
        RowKey = specialist.Id,
        Name = specialist.Name,
        Email = specialist.Email,
        LicensedStates = string.Join(',', specialist.LicensedStates.Order(StringComparer.Ordinal)),
        Treatments = string.Join(',', specialist.Treatments.Order(StringComparer.Ordinal)),
        AcceptingNewPatients = specialist.AcceptingNewPatients,
    };

    public Core.Routing.Specialist ToSpecialist() => new(
        RowKey,
        Name,
        Email,
        LicensedStates.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal),
        Treatments.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal),
        AcceptingNewPatients);
}

/// <summary>One row per referral and email kind, written after SendGrid accepted the email.</summary>
public sealed class EmailLedgerEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public DateTimeOffset SentAt { get; set; }
    public string? ProviderMessageId { get; set; }

    /// <summary>Not sent because the address had its daily allowance of confirmations.</summary>
    public bool Suppressed { get; set; }
}
