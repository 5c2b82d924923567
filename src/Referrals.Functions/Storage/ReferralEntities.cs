using System.Runtime.Serialization;
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

    public string? Language { get; set; }
    public string VisitPreference { get; set; } = nameof(Core.Referrals.VisitPreference.Either);

    // The current assignment. Assignment counts every assignment, so links and emails can name which one they belong to.
    public string? AssignedSpecialistId { get; set; }
    public DateTimeOffset? AssignedAt { get; set; }
    public int Assignment { get; set; }
    public string? RoutingExplanation { get; set; }

    /// <summary>Specialists who declined or let this referral time out, comma-separated; never routed to again.</summary>
    public string Excluded { get; set; } = "";
    public int UnansweredCount { get; set; }
    public int ReminderForAssignment { get; set; }
    public int TimedOutAssignment { get; set; }
    public string? TimedOutSpecialistId { get; set; }
    public int HistoryCount { get; set; }

    /// <summary>The status before a poison message marked it Failed; a replay restores it.</summary>
    public string? StatusBeforeFailure { get; set; }

    /// <summary>Intake found the address past its confirmations for the day: the confirmation is recorded as suppressed, not sent.</summary>
    public bool ConfirmationCapped { get; set; }

    /// <summary>SendGrid reported a bounce, drop or block for an email to the visitor.</summary>
    public bool VisitorUnreachable { get; set; }

    /// <summary>
    /// Comma-separated IntakeGuards partition keys whose rows were derived from this referral's personal data (dedupe
    /// and idempotency claims, confirmation and per-email counters): erasure deletes every row in them.
    /// </summary>
    public string? GuardKeys { get; set; }

    /// <summary>For a Duplicate stub: the live referral it repeated (operators only; never shown to the sender).</summary>
    public string? DuplicateOf { get; set; }
    /// <summary>When the personal details were erased (withdrawal, an operator, or retention); the row is then an anonymous stub.</summary>
    public DateTimeOffset? ErasedAt { get; set; }

    /// <summary>Set with <see cref="ErasedAt"/> until every derived row elsewhere is deleted, so an interrupted erasure is finished later.</summary>
    public bool SweepPending { get; set; }

    /// <summary>Erased, or withdrawn before erasure existed: nothing may be sent about it or derived from it again.</summary>
    [IgnoreDataMember]
    public bool IsErased => ErasedAt is not null || Status == nameof(ReferralStatus.Withdrawn);

    [IgnoreDataMember]
    public IReadOnlySet<string> ExcludedIds => Excluded.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

    [IgnoreDataMember]
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
        Language = referral.Language,
        VisitPreference = referral.VisitPreference.ToString(),
        ReceivedAt = receivedAt,
    };

    /// <summary>What a specialist or the triage coordinator sees behind a signed link.</summary>
    public Core.Pages.ReferralDetails ToDetails() =>
        new(PartitionKey, Name, Email, Phone, ContactMethod, State, Treatment, Insurance, Language, VisitPreference, Message, Urgent);

    public Referral ToReferral() =>
        new(PartitionKey, Name, Email, State, Treatment, CurrentStatus, ReceivedAt, AssignedSpecialistId, Assignment);
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

    /// <summary>The whole directory row as JSON: one column keeps the import and the reader in step.</summary>
    public string Json { get; set; } = "";

    public static SpecialistEntity From(Core.Routing.Specialist specialist) =>
        new() { RowKey = specialist.Id, Json = System.Text.Json.JsonSerializer.Serialize(specialist) };

    public Core.Routing.Specialist ToSpecialist() => System.Text.Json.JsonSerializer.Deserialize<StoredSpecialist>(Json)!.ToSpecialist();

    private sealed record StoredSpecialist(
        string Id, string Name, string Practice, string Email, string[] LicensedStates, string[] Treatments, bool RemsCertified, bool Telehealth,
        bool InPerson, bool AcceptingNewPatients, int WeeklyCapacity, string[] Languages, string[] InsuranceNetworks,
        Core.Routing.OutOfOffice[] OutOfOffice, string TimeZone)
    {
        public Core.Routing.Specialist ToSpecialist() => new(Id, Name, Practice, Email, LicensedStates.ToHashSet(StringComparer.Ordinal),
            Treatments.ToHashSet(StringComparer.Ordinal), RemsCertified, Telehealth, InPerson, AcceptingNewPatients, WeeklyCapacity,
            Languages.ToHashSet(StringComparer.Ordinal), InsuranceNetworks.ToHashSet(StringComparer.Ordinal), OutOfOffice, TimeZone);
    }
}

/// <summary>
/// The referrals a specialist accepted in one week (PartitionKey the week, RowKey the specialist): what weekly capacity
/// limits. Changed only through <see cref="OptimisticConcurrency"/>.
/// </summary>
public sealed class SpecialistLoadEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public int Accepted { get; set; }
}

/// <summary>
/// The offers a specialist has not answered yet, whatever the week they were made (PartitionKey "open-offers", RowKey
/// the specialist); bounded by Routing:MaxOpenOffers. Changed only through <see cref="OptimisticConcurrency"/>.
/// </summary>
public sealed class OpenOffersEntity : ITableEntity
{
    public const string PartitionKeyValue = "open-offers";

    public string PartitionKey { get; set; } = PartitionKeyValue;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public int Count { get; set; }
    public DateTimeOffset? LastOfferedAt { get; set; }

    /// <summary>When the count last changed; the recount leaves a row alone while a change may be half done.</summary>
    public DateTimeOffset ChangedAt { get; set; }
}

/// <summary>
/// One row per email about a referral (kind, and assignment or repeat where it repeats), in the referral's own
/// partition (RowKey "email-" + ledger key), so claiming and completing an email commit with the referral row's ETag:
/// an erasure, which deletes these rows in the same partition, can never be written behind. Operator alerts about
/// parked messages keep their rows in the EmailLedger table (they may name no stored referral).
/// </summary>
public sealed class EmailLedgerEntity : ITableEntity
{
    public const string RowKeyPrefix = "email-";

    /// <summary>Delivery events live beside the emails they report, in the referral's partition.</summary>
    public const string EventRowPrefix = "event-";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>An attempt is under way (<see cref="SendId"/>): another sender waits for it, or for its claim to run out.</summary>
    public const string Claimed = "Claimed";
    public const string Sent = "Sent";

    /// <summary>The last attempt failed for sure (SendGrid refused it, or it never left): the next one may go ahead.</summary>
    public const string Failed = "Failed";

    /// <summary>
    /// The last attempt's outcome is unknown (a timeout, a connection lost after sending): SendGrid may have accepted it.
    /// It is sent again only if the Event Webhook reports nothing for its <see cref="SendId"/> within the grace period.
    /// </summary>
    public const string Unknown = "Unknown";

    /// <summary>Not sent because the address had its daily allowance of confirmations.</summary>
    public const string Suppressed = "Suppressed";

    /// <summary>An operator asked for a resend (its key ends in a resend number): the next notification sends it, once.</summary>
    public const string Requested = "Requested";

    public string State { get; set; } = Claimed;

    /// <summary>The email's ledger key (its kind, plus the assignment or repeat it belongs to).</summary>
    public string LedgerKey { get; set; } = "";

    /// <summary>When the current or last attempt began.</summary>
    public DateTimeOffset ClaimedAt { get; set; }
    public DateTimeOffset? SentAt { get; set; }
    public int Attempts { get; set; }

    /// <summary>A random id per attempt, sent in custom_args, so delivery events name the attempt they are about.</summary>
    public string? SendId { get; set; }
    public string? ProviderMessageId { get; set; }

    /// <summary>SendGrid's latest delivery event for this email (delivered, deferred, bounce, dropped, blocked).</summary>
    public string? LastEvent { get; set; }
    public DateTimeOffset? LastEventAt { get; set; }

    public static string RowKeyFor(string ledgerKey) => RowKeyPrefix + ledgerKey;

    [IgnoreDataMember]
    public bool IsDone => State is Sent or Suppressed;
}
