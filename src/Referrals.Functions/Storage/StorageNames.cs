namespace Referrals.Functions.Storage;

/// <summary>The queues and tables the pipeline uses. Infra and the DevHost create exactly these.</summary>
public static class StorageNames
{
    public const string IntakeQueue = "referral-intake";
    public const string NotificationQueue = "referral-notifications";
    public const string IntakePoisonQueue = IntakeQueue + "-poison";
    public const string NotificationPoisonQueue = NotificationQueue + "-poison";

    // Urgent referrals have queues of their own, so they never wait behind a backlog of ordinary work.
    public const string UrgentIntakeQueue = "referral-intake-urgent";
    public const string UrgentNotificationQueue = "referral-notifications-urgent";
    public const string UrgentIntakePoisonQueue = UrgentIntakeQueue + "-poison";
    public const string UrgentNotificationPoisonQueue = UrgentNotificationQueue + "-poison";

    public const string ReferralsTable = "Referrals";
    public const string SpecialistsTable = "Specialists";
    public const string EmailLedgerTable = "EmailLedger";
    public const string IntakeGuardsTable = "IntakeGuards";
    public const string ClicksTable = "LinkClicks";
    public const string SpecialistLoadTable = "SpecialistLoad";
    public const string PoisonTable = "PoisonMessages";
    public const string OperatorAuditTable = "OperatorAudit";

    /// <summary>Operators' list rows, one per referral by received day (see <see cref="ReferralIndex"/>).</summary>
    public const string ReferralIndexTable = "ReferralIndex";

    /// <summary>The app setting that holds the storage connection, as the Functions host names it.</summary>
    public const string Connection = "AzureWebJobsStorage";

    /// <summary>
    /// A queue's name as logs and emails may show it next to a reference: without the urgent flag. The parked row
    /// keeps the real queue for a replay.
    /// </summary>
    public static string WithoutUrgency(string queue) => queue.Replace("-urgent", "", StringComparison.Ordinal);

    public static IReadOnlyList<string> Queues { get; } = [IntakeQueue, NotificationQueue, UrgentIntakeQueue, UrgentNotificationQueue];
    public static IReadOnlyList<string> Tables { get; } = [ReferralsTable, SpecialistsTable, EmailLedgerTable, IntakeGuardsTable, ClicksTable, SpecialistLoadTable, PoisonTable, OperatorAuditTable, ReferralIndexTable];
}

/// <summary>
/// Queue messages carry ids only: a queue is no place for personal data. On the notification queue, a message with
/// <see cref="DuplicateId"/> asks only for the notice to <see cref="ReferralId"/>'s owner that the form was sent again;
/// one with <see cref="WithdrawnSpecialistId"/> only for the notice to that specialist that the referral was withdrawn
/// (the erased referral no longer names them).
/// </summary>
/// <see cref="NoticeCapped"/> says intake found the address past its daily confirmations: the notice is recorded as
/// suppressed, not sent.
/// <see cref="TraceParent"/> is the W3C traceparent of the span that queued it: the referral's trace (and correlation
/// id) continues in the function that takes it. Messages queued before it existed have none and still work.
/// <see cref="HeldBack"/> is how long the message was queued invisible (a backstop, <see cref="EmailOptions.BackstopAfter"/>):
/// its queue wait counts from when it became visible.
public sealed record ReferralMessage(
    string ReferralId,
    string? DuplicateId = null,
    string? WithdrawnSpecialistId = null,
    bool NoticeCapped = false,
    [property: System.Text.Json.Serialization.JsonPropertyName("traceparent")] string? TraceParent = null,
    TimeSpan? HeldBack = null);

public static class ReferralQueues
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerOptions.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault,
    };

    public static Task SendReferralAsync(this Azure.Storage.Queues.QueueClient queue, string referralId, CancellationToken cancellationToken) =>
        queue.SendAsync(new ReferralMessage(referralId), cancellationToken);

    /// <summary>A message that stays invisible for <paramref name="heldBack"/> before any trigger can take it.</summary>
    public static Task SendReferralLaterAsync(this Azure.Storage.Queues.QueueClient queue, string referralId, TimeSpan heldBack, CancellationToken cancellationToken) =>
        queue.SendAsync(new ReferralMessage(referralId, HeldBack: heldBack), cancellationToken);

    public static Task SendDuplicateNoticeAsync(this Azure.Storage.Queues.QueueClient queue, string ownerId, string duplicateId, bool capped, CancellationToken cancellationToken) =>
        queue.SendAsync(new ReferralMessage(ownerId, DuplicateId: duplicateId, NoticeCapped: capped), cancellationToken);

    public static Task SendWithdrawalNoticeAsync(this Azure.Storage.Queues.QueueClient queue, string referralId, string specialistId, CancellationToken cancellationToken) =>
        queue.SendAsync(new ReferralMessage(referralId, WithdrawnSpecialistId: specialistId), cancellationToken);

    private static Task SendAsync(this Azure.Storage.Queues.QueueClient queue, ReferralMessage message, CancellationToken cancellationToken) =>
        Observability.QueueTracing.PublishAsync(queue, traceParent => System.Text.Json.JsonSerializer.Serialize(message with { TraceParent = traceParent }, Json), cancellationToken, message.HeldBack);
}
