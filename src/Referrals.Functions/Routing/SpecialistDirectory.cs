using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>
/// The specialists table, filled from the versioned directory file, and each specialist's load: referrals accepted
/// per week (what weekly capacity limits) and offers not yet answered (bounded by Routing:MaxOpenOffers). Loads are
/// changed only through <see cref="OptimisticConcurrency"/>, so concurrent routing never offers past the bound.
/// </summary>
public sealed class SpecialistDirectory(
    [FromKeyedServices(StorageNames.SpecialistsTable)] TableClient table,
    [FromKeyedServices(StorageNames.SpecialistLoadTable)] TableClient loads,
    IOptions<DirectoryOptions> options,
    TimeProvider clock)
{
    public async Task<int> ImportFileAsync(CancellationToken cancellationToken) =>
        await ImportAsync(await File.ReadAllTextAsync(options.Value.SpecialistsFilePath, cancellationToken), cancellationToken);

    /// <summary>
    /// Validates the whole file first (throwing <see cref="DirectoryFileException"/> with every bad line), then makes
    /// the table match it: upserts every specialist and removes those no longer listed.
    /// </summary>
    public async Task<int> ImportAsync(string csv, CancellationToken cancellationToken)
    {
        var specialists = SpecialistDirectoryFile.Parse(csv);
        var keep = specialists.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var specialist in specialists)
        {
            await table.UpsertEntityAsync(SpecialistEntity.From(specialist), TableUpdateMode.Replace, cancellationToken);
        }

        foreach (var stale in (await LoadAsync(cancellationToken)).Where(s => !keep.Contains(s.Id)))
        {
            await table.DeleteEntityAsync(SpecialistEntity.PartitionKeyValue, stale.Id, cancellationToken: cancellationToken);
        }

        return specialists.Count;
    }

    public async Task<IReadOnlyList<Specialist>> LoadAsync(CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {SpecialistEntity.PartitionKeyValue}");
        var specialists = new List<Specialist>();
        await foreach (var row in table.QueryAsync<SpecialistEntity>(filter, cancellationToken: cancellationToken))
        {
            specialists.Add(row.ToSpecialist());
        }

        return specialists;
    }

    public async Task<Specialist?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var row = await table.GetEntityIfExistsAsync<SpecialistEntity>(SpecialistEntity.PartitionKeyValue, id, cancellationToken: cancellationToken);
        return row.HasValue ? row.Value!.ToSpecialist() : null;
    }

    /// <summary>Every specialist with what they accepted this week and the offers they have not answered yet.</summary>
    public async Task<IReadOnlyList<Candidate>> CandidatesAsync(string week, CancellationToken cancellationToken)
    {
        var accepted = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var load in loads.QueryAsync<SpecialistLoadEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {week}"), cancellationToken: cancellationToken))
        {
            accepted[load.RowKey] = load.Accepted;
        }

        var open = new Dictionary<string, OpenOffersEntity>(StringComparer.Ordinal);
        await foreach (var row in loads.QueryAsync<OpenOffersEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {OpenOffersEntity.PartitionKeyValue}"), cancellationToken: cancellationToken))
        {
            open[row.RowKey] = row;
        }

        return (await LoadAsync(cancellationToken))
            .Select(s => new Candidate(s, accepted.GetValueOrDefault(s.Id), open.GetValueOrDefault(s.Id)?.Count ?? 0, open.GetValueOrDefault(s.Id)?.LastOfferedAt))
            .ToList();
    }

    /// <summary>
    /// Records an offer to the specialist if the capacity rule still allows it on the counts as they are now, and returns
    /// null; otherwise returns the rule that stops it (another router offered first, or the specialist accepted since
    /// the ranking). The week's acceptances are read after the open offers: an acceptance adds to the week before it
    /// takes from the open offers, so a concurrent one is either seen in the week or fails this write's ETag.
    /// </summary>
    public Task<string?> OfferAsync(string week, Specialist specialist, int maxOpenOffers, DateTimeOffset now, CancellationToken cancellationToken) =>
        loads.ChangeAsync<OpenOffersEntity, string?>(OpenOffersEntity.PartitionKeyValue, specialist.Id, async open =>
        {
            var count = open?.Count ?? 0;
            var accepted = await AcceptedAsync(week, specialist.Id, cancellationToken);
            if (Router.CapacityReason(specialist.WeeklyCapacity, accepted, count, maxOpenOffers) is { } refused)
            {
                return (null, refused);
            }

            var row = open ?? new OpenOffersEntity { RowKey = specialist.Id };
            row.Count = count + 1;
            row.LastOfferedAt = now;
            row.ChangedAt = clock.GetUtcNow();
            return (row, null);
        }, cancellationToken);

    /// <summary>
    /// The specialist accepted an offer: it counts against the week it was accepted in and is no longer open. They may
    /// accept beyond their capacity (that is their choice); capacity only stops further offers.
    /// </summary>
    public async Task AcceptOfferAsync(string specialistId, DateTimeOffset acceptedAt, CancellationToken cancellationToken)
    {
        var week = Router.WeekOf(acceptedAt);
        await loads.ChangeAsync<SpecialistLoadEntity, int>(week, specialistId, load =>
        {
            var row = load ?? new SpecialistLoadEntity { PartitionKey = week, RowKey = specialistId };
            row.Accepted++;
            return (row, row.Accepted);
        }, cancellationToken);
        await ReleaseOfferAsync(specialistId, cancellationToken);
    }

    /// <summary>
    /// An offer ended unaccepted (declined, timed out, withdrawn, or its routing failed): the specialist may hold another.
    /// This replaces ReleaseAsync(week, specialistId), which gave back weekly capacity when offers still used it.
    /// </summary>
    public Task ReleaseOfferAsync(string specialistId, CancellationToken cancellationToken) =>
        loads.ChangeAsync<OpenOffersEntity, bool>(OpenOffersEntity.PartitionKeyValue, specialistId, open =>
        {
            if (open is null || open.Count == 0)
            {
                return (null, false);
            }

            open.Count--;
            open.ChangedAt = clock.GetUtcNow();
            return (open, true);
        }, cancellationToken);

    /// <summary>
    /// Sets each specialist's open offers to the number counted from the referrals themselves, except on rows changed
    /// within <paramref name="quietFor"/>: a change may be between its two writes (the referral, then the count).
    /// Returns the ids of the specialists whose count was wrong.
    /// </summary>
    public async Task<IReadOnlyList<string>> CorrectOpenOffersAsync(IReadOnlyDictionary<string, int> counted, TimeSpan quietFor, CancellationToken cancellationToken)
    {
        var ids = new SortedSet<string>(counted.Keys, StringComparer.Ordinal);
        await foreach (var row in loads.QueryAsync<OpenOffersEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {OpenOffersEntity.PartitionKeyValue}"), cancellationToken: cancellationToken))
        {
            ids.Add(row.RowKey);
        }

        var corrected = new List<string>();
        foreach (var id in ids)
        {
            var truth = counted.GetValueOrDefault(id);
            var changed = await loads.ChangeAsync<OpenOffersEntity, bool>(OpenOffersEntity.PartitionKeyValue, id, open =>
            {
                var now = clock.GetUtcNow();
                if ((open?.Count ?? 0) == truth || open?.ChangedAt > now - quietFor)
                {
                    return (null, false);
                }

                var row = open ?? new OpenOffersEntity { RowKey = id };
                row.Count = truth;
                row.ChangedAt = now;
                return (row, true);
            }, cancellationToken);
            if (changed)
            {
                corrected.Add(id);
            }
        }

        return corrected;
    }

    private async Task<int> AcceptedAsync(string week, string specialistId, CancellationToken cancellationToken)
    {
        var load = await loads.GetEntityIfExistsAsync<SpecialistLoadEntity>(week, specialistId, cancellationToken: cancellationToken);
        return load.HasValue ? load.Value!.Accepted : 0;
    }
}
