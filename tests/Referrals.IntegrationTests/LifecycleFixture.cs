using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Referrals;
using Referrals.DevHost;
using Referrals.Functions;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Its own Azurite and DevHost for tests that move time (retention, SLA): their far-future purges and monitors must
/// not reach the shared pipeline's data. The host's reconciler waits a day, so referrals written straight into the
/// table stay where a test put them.
/// </summary>
public sealed class LifecycleFixture : IAsyncLifetime
{
    public AzuriteInstance Azurite { get; private set; } = null!;
    public DevHostApp Host { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public TableClient Table(string name) => new(Azurite.ConnectionString, name);

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync();
        Host = await PipelineFixture.StartHostAsync(Azurite, extraSettings: new Dictionary<string, string?> { ["Intake:ReconcileAfter"] = "1.00:00:00" });
        Http = new HttpClient(new DistinctClientHandler { InnerHandler = new HttpClientHandler { AllowAutoRedirect = false } }) { BaseAddress = Host.BaseAddress };
    }

    /// <summary>The app's own services, configured as the host's, on another clock (as a second instance would be).</summary>
    public ServiceProvider ServicesAt(TimeProvider clock)
    {
        var configuration = Host.Services.GetRequiredService<IConfiguration>();
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        services.AddSingleton(configuration);
        services.AddLogging();
        services.AddReferralPipeline(configuration);
        return services.BuildServiceProvider();
    }

    /// <summary>A referral written straight into the table: received at one time, last changed (to NeedsTriage) at another.</summary>
    public async Task<string> InsertReferralAsync(string marker, DateTimeOffset receivedAt, DateTimeOffset? lastChange = null, Action<ReferralEntity>? routed = null)
    {
        var referrals = Table(StorageNames.ReferralsTable);
        var id = ReferralId.New();
        var referral = new ValidReferral($"Rhea{marker} Kept", $"kept-{marker}-{id}@example.com", "IL", "oral-ketamine", Phone: "+13125550111",
            Insurance: $"Cover{marker}", Message: $"Note {marker}");
        await referrals.AddNewAsync(ReferralEntity.From(id, referral, receivedAt), new StatusChange(ReferralStatus.Received, receivedAt, Actor.Visitor, "Submitted the interest form."), CancellationToken.None);
        if (lastChange is not null || routed is not null)
        {
            var stored = (await referrals.FindReferralAsync(id, CancellationToken.None))!;
            var change = routed is null
                ? new StatusChange(ReferralStatus.NeedsTriage, lastChange ?? receivedAt, Actor.System, "Sent to triage: no specialist in IL.")
                : new StatusChange(ReferralStatus.Routed, lastChange ?? receivedAt, Actor.System, "Routed to specialist sp-007.");
            // Straight into the table, as the test describes it: not through ReferralCase, which would number the assignment.
            stored.Status = change.Status.ToString();
            routed?.Invoke(stored);
            stored.HistoryCount++;
            await referrals.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.UpdateReplace, stored, stored.ETag),
                    new TableTransactionAction(TableTransactionActionType.Add, HistoryEntity.From(id, stored.HistoryCount, change)),
                ],
                CancellationToken.None);
        }

        return id;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class LifecycleCollection : ICollectionFixture<LifecycleFixture>
{
    public const string Name = "lifecycle";
}
