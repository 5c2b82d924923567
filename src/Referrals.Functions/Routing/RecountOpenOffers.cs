using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>
/// Each offer, answer, timeout and withdrawal writes the referral first and the open-offer count after, so a crash in
/// between leaves a count one off. Open offers are not reset weekly, so a count left too high would keep a specialist
/// out of routing for good: this timer counts them again from the referrals themselves (Routed or Notified, by the
/// assigned specialist) and corrects any that disagree.
/// </summary>
public sealed partial class RecountOpenOffers(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    SpecialistDirectory directory,
    ILogger<RecountOpenOffers> logger)
{
    /// <summary>Rows changed more recently than this may be between their two writes, and are left for the next run.</summary>
    public static readonly TimeSpan QuietFor = TimeSpan.FromMinutes(10);

    [Function(nameof(RecountOpenOffers))]
    public async Task Run([TimerTrigger("0 7,37 * * * *")] TimerInfo timer, CancellationToken cancellationToken) =>
        await RecountAsync(cancellationToken);

    public async Task<IReadOnlyList<string>> RecountAsync(CancellationToken cancellationToken)
    {
        var counted = new Dictionary<string, int>(StringComparer.Ordinal);
        var filter = TableClient.CreateQueryFilter($"RowKey eq {ReferralEntity.RowKeyValue} and (Status eq {nameof(ReferralStatus.Routed)} or Status eq {nameof(ReferralStatus.Notified)})");
        // Only the specialist id is read: the recount has no use for anything the visitor told us.
        await foreach (var referral in referrals.QueryAsync<ReferralEntity>(filter, select: [nameof(ReferralEntity.AssignedSpecialistId)], cancellationToken: cancellationToken))
        {
            if (referral.AssignedSpecialistId is { } specialistId)
            {
                counted[specialistId] = counted.GetValueOrDefault(specialistId) + 1;
            }
        }

        var corrected = await directory.CorrectOpenOffersAsync(counted, QuietFor, cancellationToken);
        foreach (var specialistId in corrected)
        {
            LogCorrected(specialistId, counted.GetValueOrDefault(specialistId));
        }

        return corrected;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Open offers of specialist {SpecialistId} recounted to {Count}")]
    private partial void LogCorrected(string specialistId, int count);
}
