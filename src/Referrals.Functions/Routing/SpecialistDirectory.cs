using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Routing;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Routing;

/// <summary>The specialists table, filled from the versioned data file in the repo.</summary>
public sealed class SpecialistDirectory(
    [FromKeyedServices(StorageNames.SpecialistsTable)] TableClient table,
    IOptions<DirectoryOptions> options)
{
    /// <summary>Makes the table match the data file: upserts every specialist and removes those no longer listed.</summary>
    public async Task<int> SyncFromFileAsync(CancellationToken cancellationToken)
    {
        var specialists = SpecialistDirectoryFile.Parse(await File.ReadAllTextAsync(options.Value.SpecialistsFilePath, cancellationToken));
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
}
