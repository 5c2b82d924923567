using System.Collections.Concurrent;
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
/// Storage requests are the budget, so the directory and the loads are kept in memory (see
/// <see cref="DirectoryOptions.CacheFor"/>): routing ranks on the snapshot and writes the chosen specialist's
/// open-offer row with the ETag it holds, so only a conflict (another instance offered, accepted or recounted) costs
/// reads, and those reads decide again on fresh rows.
/// </summary>
public sealed class SpecialistDirectory(
    [FromKeyedServices(StorageNames.SpecialistsTable)] TableClient table,
    [FromKeyedServices(StorageNames.SpecialistLoadTable)] TableClient loads,
    IOptions<DirectoryOptions> options,
    TimeProvider clock)
{
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private volatile Snapshot? snapshot;

    // One writer per specialist's load rows in this instance: concurrent routings all rank the same best specialist,
    // and taking turns lets each decide on the row the previous one wrote instead of losing to its ETag.
    private readonly ConcurrentDictionary<string, SemaphoreSlim> turns = new(StringComparer.Ordinal);

    private async Task<T> InTurnAsync<T>(string specialistId, Func<Task<T>> change, CancellationToken cancellationToken)
    {
        var turn = turns.GetOrAdd(specialistId, _ => new SemaphoreSlim(1, 1));
        await turn.WaitAsync(cancellationToken);
        try
        {
            return await change();
        }
        finally
        {
            turn.Release();
        }
    }

    /// <summary>
    /// What this instance last read. Open offers are read before the week's acceptances (at refresh and after a
    /// conflict alike): an acceptance adds to the week before it takes from the open offers, so a snapshot never
    /// counts one acceptance in neither place.
    /// </summary>
    private sealed record Snapshot(
        DateTimeOffset ReadAt,
        string Week,
        IReadOnlyList<Specialist> Specialists,
        ConcurrentDictionary<string, OpenOffersEntity> Open,
        ConcurrentDictionary<string, SpecialistLoadEntity> Accepted);

    public async Task<int> ImportFileAsync(CancellationToken cancellationToken) =>
        await ImportAsync(await File.ReadAllTextAsync(options.Value.SpecialistsFilePath, cancellationToken), cancellationToken);

    // The deployed file's hash as of the last import of either kind, in its own partition of the specialists table.
    private const string SyncPartition = "DirectorySync";
    private const string SyncRow = "DeployedFile";

    /// <summary>
    /// The scheduled sync, which also runs at every start (RunOnStartup runs on each new instance, so at every
    /// scale-out on Azure): imports the deployed file only if it changed since the last import, so an operator's
    /// upload stands until the next deployment brings a different file. Returns null when there was nothing new.
    /// </summary>
    public async Task<int?> SyncDeployedFileAsync(CancellationToken cancellationToken)
    {
        var csv = await File.ReadAllTextAsync(options.Value.SpecialistsFilePath, cancellationToken);
        var marker = await table.GetEntityIfExistsAsync<TableEntity>(SyncPartition, SyncRow, cancellationToken: cancellationToken);
        return marker.HasValue && marker.Value!.GetString("Sha256") == Hash(csv) ? null : await ImportAsync(csv, cancellationToken);
    }

    private static string Hash(string csv) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(csv)));

    private async Task MarkDeployedFileSeenAsync(CancellationToken cancellationToken)
    {
        var path = options.Value.SpecialistsFilePath;
        if (File.Exists(path))
        {
            var entity = new TableEntity(SyncPartition, SyncRow) { ["Sha256"] = Hash(await File.ReadAllTextAsync(path, cancellationToken)) };
            await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
        }
    }

    /// <summary>
    /// Validates the whole file first (throwing <see cref="DirectoryFileException"/> with every bad line), then makes
    /// the table match it: upserts every specialist and removes those no longer listed.
    /// </summary>
    public async Task<int> ImportAsync(string csv, CancellationToken cancellationToken)
    {
        var specialists = SpecialistDirectoryFile.Parse(csv);
        var keep = specialists.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        try
        {
            foreach (var specialist in specialists)
            {
                await table.UpsertEntityAsync(SpecialistEntity.From(specialist), TableUpdateMode.Replace, cancellationToken);
            }

            foreach (var stale in (await LoadAsync(cancellationToken)).Where(s => !keep.Contains(s.Id)))
            {
                await table.DeleteEntityAsync(SpecialistEntity.PartitionKeyValue, stale.Id, cancellationToken: cancellationToken);
            }

            // Whatever was imported (the deployed file or an upload), the deployed file as it is now has been seen.
            await MarkDeployedFileSeenAsync(cancellationToken);
        }
        finally
        {
            // This instance sees the new directory at once; others within CacheFor.
            snapshot = null;
        }

        return specialists.Count;
    }

    /// <summary>The directory as stored now (not the routing snapshot).</summary>
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

    /// <summary>A specialist from the snapshot; one not in it (added since) is read from the table.</summary>
    public async Task<Specialist?> FindAsync(string id, CancellationToken cancellationToken)
    {
        if ((await CurrentAsync(Router.WeekOf(clock.GetUtcNow()), cancellationToken)).Specialists.FirstOrDefault(s => s.Id == id) is { } known)
        {
            return known;
        }

        var row = await table.GetEntityIfExistsAsync<SpecialistEntity>(SpecialistEntity.PartitionKeyValue, id, cancellationToken: cancellationToken);
        return row.HasValue ? row.Value!.ToSpecialist() : null;
    }

    /// <summary>Every specialist with what they accepted this week and the offers they have not answered yet, as last read.</summary>
    public async Task<IReadOnlyList<Candidate>> CandidatesAsync(string week, CancellationToken cancellationToken)
    {
        var current = await CurrentAsync(week, cancellationToken);
        return current.Specialists
            .Select(s => new Candidate(
                s,
                current.Accepted.TryGetValue(s.Id, out var load) ? load.Accepted : 0,
                current.Open.TryGetValue(s.Id, out var open) ? open.Count : 0,
                current.Open.TryGetValue(s.Id, out var last) ? last.LastOfferedAt : null))
            .ToList();
    }

    /// <summary>
    /// Records an offer to the specialist if the capacity rule still allows it on the counts as they are now, and returns
    /// null; otherwise returns the rule that stops it (another router offered first, or the specialist accepted since
    /// the ranking). The first attempt decides on the snapshot and writes with its ETag; after a conflict, the open
    /// offers are read and then the week's acceptances, so a concurrent acceptance is either seen in the week or fails
    /// the write's ETag.
    /// </summary>
    public Task<string?> OfferAsync(string week, Specialist specialist, int maxOpenOffers, DateTimeOffset now, CancellationToken cancellationToken) =>
        InTurnAsync(specialist.Id, () => OfferInTurnAsync(week, specialist, maxOpenOffers, now, beyondCapacity: false, cancellationToken), cancellationToken);

    /// <summary>
    /// An operator's assignment that overrides capacity: the offer is recorded whatever the counts say (so the
    /// decline, timeout or acceptance that ends it balances the count), and the rule it went past is returned (null
    /// when it was within capacity after all), for the audit.
    /// </summary>
    public Task<string?> OfferBeyondCapacityAsync(string week, Specialist specialist, int maxOpenOffers, DateTimeOffset now, CancellationToken cancellationToken) =>
        InTurnAsync(specialist.Id, () => OfferInTurnAsync(week, specialist, maxOpenOffers, now, beyondCapacity: true, cancellationToken), cancellationToken);

    /// <returns>The capacity rule that stopped the offer (or, <paramref name="beyondCapacity"/>, that it went past).</returns>
    private async Task<string?> OfferInTurnAsync(string week, Specialist specialist, int maxOpenOffers, DateTimeOffset now, bool beyondCapacity, CancellationToken cancellationToken)
    {
        var current = await CurrentAsync(week, cancellationToken);
        var fromSnapshot = true;
        OpenOffersEntity? written = null;
        var rule = await loads.ChangeAsync<OpenOffersEntity, string?>(OpenOffersEntity.PartitionKeyValue, specialist.Id, async open =>
        {
            written = null;
            var count = open?.Count ?? 0;
            var accepted = fromSnapshot
                ? current.Accepted.TryGetValue(specialist.Id, out var load) ? load.Accepted : 0
                : await AcceptedAsync(current, week, specialist.Id, cancellationToken);
            fromSnapshot = false;
            var capacity = Router.CapacityReason(specialist.WeeklyCapacity, accepted, count, maxOpenOffers);
            if (capacity is not null && !beyondCapacity)
            {
                Remember(current, open);
                return (null, capacity);
            }

            written = open ?? new OpenOffersEntity { RowKey = specialist.Id };
            written.Count = count + 1;
            written.LastOfferedAt = now;
            written.ChangedAt = clock.GetUtcNow();
            return (written, capacity);
        }, cancellationToken, KnownOpen(current, specialist.Id));
        Remember(current, written);
        return rule;
    }

    /// <summary>
    /// The specialist accepted an offer: it counts against the week it was accepted in and is no longer open. They may
    /// accept beyond their capacity (that is their choice); capacity only stops further offers.
    /// </summary>
    public Task AcceptOfferAsync(string specialistId, DateTimeOffset acceptedAt, CancellationToken cancellationToken) =>
        InTurnAsync(specialistId, async () =>
        {
            await CountAcceptanceAsync(specialistId, acceptedAt, cancellationToken);
            await ReleaseInTurnAsync(specialistId, cancellationToken);
            return true;
        }, cancellationToken);

    private async Task CountAcceptanceAsync(string specialistId, DateTimeOffset acceptedAt, CancellationToken cancellationToken)
    {
        var week = Router.WeekOf(acceptedAt);
        var current = await CurrentAsync(week, cancellationToken);
        SpecialistLoadEntity? written = null;
        await loads.ChangeAsync<SpecialistLoadEntity, int>(week, specialistId, load =>
        {
            written = load ?? new SpecialistLoadEntity { PartitionKey = week, RowKey = specialistId };
            written.Accepted++;
            return (written, written.Accepted);
        }, cancellationToken, current.Week == week ? new Known<SpecialistLoadEntity>(current.Accepted.TryGetValue(specialistId, out var known) ? Clone(known) : null) : null);
        if (written is not null && current.Week == week)
        {
            current.Accepted[specialistId] = Clone(written);
        }
    }

    /// <summary>
    /// An offer ended unaccepted (declined, timed out, withdrawn, or its routing failed): the specialist may hold another.
    /// This replaces ReleaseAsync(week, specialistId), which gave back weekly capacity when offers still used it.
    /// </summary>
    public Task ReleaseOfferAsync(string specialistId, CancellationToken cancellationToken) =>
        InTurnAsync(specialistId, async () =>
        {
            await ReleaseInTurnAsync(specialistId, cancellationToken);
            return true;
        }, cancellationToken);

    private async Task ReleaseInTurnAsync(string specialistId, CancellationToken cancellationToken)
    {
        var current = await CurrentAsync(Router.WeekOf(clock.GetUtcNow()), cancellationToken);
        OpenOffersEntity? seen = null;
        await loads.ChangeAsync<OpenOffersEntity, bool>(OpenOffersEntity.PartitionKeyValue, specialistId, open =>
        {
            seen = open;
            if (open is null || open.Count == 0)
            {
                return (null, false);
            }

            open.Count--;
            open.ChangedAt = clock.GetUtcNow();
            return (open, true);
        }, cancellationToken, KnownOpen(current, specialistId));
        Remember(current, seen);
    }

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

        if (corrected.Count > 0)
        {
            snapshot = null;
        }

        return corrected;
    }

    /// <summary>After a conflict: the week's acceptances as stored now, kept in the snapshot for the next offer.</summary>
    private async Task<int> AcceptedAsync(Snapshot current, string week, string specialistId, CancellationToken cancellationToken)
    {
        var load = await loads.GetEntityIfExistsAsync<SpecialistLoadEntity>(week, specialistId, cancellationToken: cancellationToken);
        if (load.HasValue)
        {
            current.Accepted[specialistId] = Clone(load.Value!);
            return load.Value!.Accepted;
        }

        current.Accepted.TryRemove(specialistId, out _);
        return 0;
    }

    /// <summary>The snapshot, read again when it is older than CacheFor, when the week turned, or after an import.</summary>
    private async Task<Snapshot> CurrentAsync(string week, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (snapshot is { } fresh && fresh.Week == week && now - fresh.ReadAt < options.Value.CacheFor)
        {
            return fresh;
        }

        await refreshing.WaitAsync(cancellationToken);
        try
        {
            if (snapshot is { } other && other.Week == week && now - other.ReadAt < options.Value.CacheFor)
            {
                return other;
            }

            var open = new ConcurrentDictionary<string, OpenOffersEntity>(StringComparer.Ordinal);
            await foreach (var row in loads.QueryAsync<OpenOffersEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {OpenOffersEntity.PartitionKeyValue}"), cancellationToken: cancellationToken))
            {
                open[row.RowKey] = row;
            }

            var accepted = new ConcurrentDictionary<string, SpecialistLoadEntity>(StringComparer.Ordinal);
            await foreach (var row in loads.QueryAsync<SpecialistLoadEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {week}"), cancellationToken: cancellationToken))
            {
                accepted[row.RowKey] = row;
            }

            var read = new Snapshot(now, week, await LoadAsync(cancellationToken), open, accepted);
            snapshot = read;
            return read;
        }
        finally
        {
            refreshing.Release();
        }
    }

    /// <summary>A copy of the snapshot's row (or "none"), so a failed attempt cannot change the snapshot.</summary>
    private static Known<OpenOffersEntity> KnownOpen(Snapshot current, string specialistId) =>
        new(current.Open.TryGetValue(specialistId, out var row) ? Clone(row) : null);

    /// <summary>Keeps the row as last read or written (with its ETag) for the next decision.</summary>
    private static void Remember(Snapshot current, OpenOffersEntity? row)
    {
        if (row is not null)
        {
            current.Open[row.RowKey] = Clone(row);
        }
    }

    private static OpenOffersEntity Clone(OpenOffersEntity row) => new()
    {
        RowKey = row.RowKey,
        ETag = row.ETag,
        Timestamp = row.Timestamp,
        Count = row.Count,
        LastOfferedAt = row.LastOfferedAt,
        ChangedAt = row.ChangedAt,
    };

    private static SpecialistLoadEntity Clone(SpecialistLoadEntity row) => new()
    {
        PartitionKey = row.PartitionKey,
        RowKey = row.RowKey,
        ETag = row.ETag,
        Timestamp = row.Timestamp,
        Accepted = row.Accepted,
    };
}
