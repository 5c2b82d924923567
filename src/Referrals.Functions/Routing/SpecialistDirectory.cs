using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>
/// The specialists table, filled from the versioned directory file, and each specialist's weekly load. Loads are
/// changed only with ETags, so concurrent routing never assigns a specialist past capacity.
/// </summary>
public sealed class SpecialistDirectory(
    [FromKeyedServices(StorageNames.SpecialistsTable)] TableClient table,
    [FromKeyedServices(StorageNames.SpecialistLoadTable)] TableClient loads,
    IOptions<DirectoryOptions> options)
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

    /// <summary>Every specialist with this week's load.</summary>
    public async Task<IReadOnlyList<Candidate>> CandidatesAsync(string week, CancellationToken cancellationToken)
    {
        var weekLoads = new Dictionary<string, SpecialistLoadEntity>(StringComparer.Ordinal);
        await foreach (var load in loads.QueryAsync<SpecialistLoadEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {week}"), cancellationToken: cancellationToken))
        {
            weekLoads[load.RowKey] = load;
        }

        return (await LoadAsync(cancellationToken))
            .Select(s => weekLoads.TryGetValue(s.Id, out var l) ? new Candidate(s, l.Count, l.LastAssignedAt) : new Candidate(s, 0, null))
            .ToList();
    }

    /// <summary>Takes one unit of a specialist's weekly capacity; false when none is left (another router may have taken it).</summary>
    public async Task<bool> TryReserveAsync(string week, Specialist specialist, DateTimeOffset now, CancellationToken cancellationToken)
    {
        while (true)
        {
            var existing = await loads.GetEntityIfExistsAsync<SpecialistLoadEntity>(week, specialist.Id, cancellationToken: cancellationToken);
            var load = existing.HasValue ? existing.Value! : new SpecialistLoadEntity { PartitionKey = week, RowKey = specialist.Id };
            if (load.Count >= specialist.WeeklyCapacity)
            {
                return false;
            }

            load.Count++;
            load.LastAssignedAt = now;
            try
            {
                if (existing.HasValue)
                {
                    await loads.UpdateEntityAsync(load, load.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                else
                {
                    await loads.AddEntityAsync(load, cancellationToken);
                }

                return true;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // Someone else changed the load first: read it again and decide again.
            }
        }
    }

    /// <summary>Gives back a unit of capacity when an assignment ends unanswered or declined.</summary>
    public async Task ReleaseAsync(string week, string specialistId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var existing = await loads.GetEntityIfExistsAsync<SpecialistLoadEntity>(week, specialistId, cancellationToken: cancellationToken);
            if (!existing.HasValue || existing.Value!.Count == 0)
            {
                return;
            }

            var load = existing.Value;
            load.Count--;
            try
            {
                await loads.UpdateEntityAsync(load, load.ETag, TableUpdateMode.Replace, cancellationToken);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
            }
        }
    }
}
