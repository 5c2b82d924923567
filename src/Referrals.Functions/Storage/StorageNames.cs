namespace Referrals.Functions.Storage;

/// <summary>The queues and tables the pipeline uses. Infra and the DevHost create exactly these.</summary>
public static class StorageNames
{
    public const string IntakeQueue = "referral-intake";
    public const string NotificationQueue = "referral-notifications";
    public const string IntakePoisonQueue = IntakeQueue + "-poison";
    public const string NotificationPoisonQueue = NotificationQueue + "-poison";

    public const string ReferralsTable = "Referrals";
    public const string SpecialistsTable = "Specialists";
    public const string EmailLedgerTable = "EmailLedger";
    public const string IntakeGuardsTable = "IntakeGuards";
    public const string ClicksTable = "LinkClicks";
    public const string SpecialistLoadTable = "SpecialistLoad";
    public const string PoisonTable = "PoisonMessages";

    /// <summary>The app setting that holds the storage connection, as the Functions host names it.</summary>
    public const string Connection = "AzureWebJobsStorage";

    public static IReadOnlyList<string> Queues { get; } = [IntakeQueue, NotificationQueue];
    public static IReadOnlyList<string> Tables { get; } = [ReferralsTable, SpecialistsTable, EmailLedgerTable, IntakeGuardsTable, ClicksTable, SpecialistLoadTable, PoisonTable];
}

/// <summary>Queue messages carry ids only: a queue is no place for personal data.</summary>
/// <param name="WithdrawnSpecialistId">Only on the message that tells this specialist the referral was withdrawn: the erased referral no longer names them.</param>
public sealed record ReferralMessage(string ReferralId, string? WithdrawnSpecialistId = null);

public static class ReferralQueues
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerOptions.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static Task SendReferralAsync(this Azure.Storage.Queues.QueueClient queue, string referralId, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(System.Text.Json.JsonSerializer.Serialize(new ReferralMessage(referralId), Json), cancellationToken);

    public static Task SendWithdrawalNoticeAsync(this Azure.Storage.Queues.QueueClient queue, string referralId, string specialistId, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(System.Text.Json.JsonSerializer.Serialize(new ReferralMessage(referralId, specialistId), Json), cancellationToken);
}
