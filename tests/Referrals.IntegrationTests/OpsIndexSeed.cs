using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// The operators' console tests share an Azurite and DevHost of their own (their summary counts every referral in
/// the index), and each test writes in days of its own, years ahead, so the tests never see each other's rows.
/// </summary>
[CollectionDefinition(Name)]
public sealed class OpsIndexCollection : ICollectionFixture<LifecycleFixture>
{
    public const string Name = "ops-index";
}

/// <summary>Referrals written through the app's own storage code (so the index is written as in production), on a fake clock.</summary>
public sealed class OpsIndexSeed(LifecycleFixture fixture, DateTimeOffset now) : IAsyncDisposable
{
    public FakeTimeProvider Clock { get; } = new(now);
    private ServiceProvider? services;

    public ServiceProvider Services => services ??= fixture.ServicesAt(Clock);
    public TableClient Referrals => Services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralsTable);
    public TableClient Index => Services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralIndexTable);

    public async Task<(string Id, ReferralEntity Row)> ReceiveAsync(DateTimeOffset at, string treatment = "oral-ketamine", string? topic = null, string? post = null,
        bool urgent = false, string name = "Rhea Listed")
    {
        var id = ReferralId.New();
        var valid = new ValidReferral(name, $"listed-{id}@example.com", "IL", treatment, Phone: "+13125550111", Urgent: urgent,
            Source: topic is null && post is null ? null : new SourceAttribution(topic, post, new Dictionary<string, string>()));
        var row = ReferralEntity.From(id, valid, at);
        await Referrals.AddNewAsync(row, new StatusChange(ReferralStatus.Received, at, Actor.Visitor, "Submitted the interest form."), CancellationToken.None);
        return (id, row);
    }

    /// <summary>One move through <see cref="ReferralCase"/>, saved as the pipeline saves it.</summary>
    public async Task MoveAsync(ReferralEntity row, Action<ReferralCase> move, IReadOnlyList<ITableEntity>? alongside = null)
    {
        var referralCase = row.ToCase();
        move(referralCase);
        await Referrals.SaveAsync(row, referralCase, alongside ?? [], CancellationToken.None);
    }

    public Task OfferAsync(ReferralEntity row, string specialistId, DateTimeOffset at) =>
        MoveAsync(row, c => c.Offer(specialistId, at, "Test offer."));

    public async Task<TableEntity> IndexRowAsync(string id, DateTimeOffset receivedAt) =>
        (await Index.GetEntityAsync<TableEntity>(IndexedReferral.PartitionKeyFor(receivedAt), IndexedReferral.RowKeyFor(id, receivedAt))).Value;

    /// <summary>Runs an operator function in-process (on the fake clock) and reads its JSON answer.</summary>
    public async Task<(int Status, JsonNode? Body)> CallAsync(Func<HttpRequest, Task<IResult>> run, string query = "")
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        context.Request.QueryString = new QueryString(query);
        context.Response.Body = new MemoryStream();
        await (await run(context.Request)).ExecuteAsync(context);
        context.Response.Body.Position = 0;
        var text = await new StreamReader(context.Response.Body).ReadToEndAsync();
        return (context.Response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public T Function<T>() => ActivatorUtilities.CreateInstance<T>(Services);

    public async ValueTask DisposeAsync()
    {
        if (services is not null)
        {
            await services.DisposeAsync();
        }
    }
}
