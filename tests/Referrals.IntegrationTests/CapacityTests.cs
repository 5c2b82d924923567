using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Core.Routing;
using Referrals.Functions;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Capacity is counted on acceptance and open offers are bounded, so fake submissions cannot use up a specialist's
/// week. On Azurite, through the real app where the counters move.
/// </summary>
[Collection(PipelineCollection.Name)]
public partial class CapacityTests(PipelineFixture fixture)
{
    private const string Specialist = "vt-1";
    private const string SpecialistEmail = "vera.tess@example.org";

    [Fact]
    public async Task Four_fake_submissions_do_not_use_up_a_specialists_week_and_every_answer_moves_the_counts()
    {
        // One specialist for Vermont with a weekly capacity of 4: when offers used capacity, four posts filled the week.
        var directoryFile = Path.Combine(Path.GetTempPath(), $"referrals-capacity-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(directoryFile, """
            id,name,practice,email,states,treatments,rems_certified,telehealth,in_person,accepting_new_patients,weekly_capacity,languages,insurance_networks,out_of_office,time_zone
            vt-1,Dr. Vera Tess,Green Mountain Ketamine,vera.tess@example.org,VT,iv-ketamine-infusion,false,true,true,true,4,en,,,America/New_York
            """);
        await using var azurite = await AzuriteInstance.StartAsync();
        await using var host = await PipelineFixture.StartHostAsync(azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Directory:SpecialistsFile"] = directoryFile,
            ["Routing:MaxOpenOffers"] = "2",
        });
        using var http = new HttpClient(new DistinctClientHandler { InnerHandler = new HttpClientHandler { AllowAutoRedirect = false } }) { BaseAddress = host.BaseAddress };
        var services = host.Services;
        await Eventually.UntilAsync(() => services.GetRequiredService<SpecialistDirectory>().FindAsync(Specialist, CancellationToken.None), s => s is not null, TimeSpan.FromSeconds(20), "the directory import");
        var loads = new TableClient(azurite.ConnectionString, StorageNames.SpecialistLoadTable);

        async Task<(string Id, string Email)> SubmitAsync()
        {
            var email = $"capacity-{Guid.NewGuid():N}@example.com";
            var response = await http.PostAsJsonAsync("/api/referrals", new
            {
                name = "Fay Kerr", email, state = "VT", treatment = "iv-ketamine-infusion", consent = true, privacyAcknowledged = true, adult = true,
            });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return ((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString(), email);
        }

        async Task<string> SettledAsync(string id) =>
            (await Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)),
                s => s!["status"]!.ToString() is "Notified" or "NeedsTriage" or "Accepted" or "Withdrawn", TimeSpan.FromSeconds(30), $"{id} to settle"))!["status"]!.ToString();

        async Task<JsonObject> MailAsync(Func<JsonObject, bool> match, string what) =>
            (await Eventually.UntilAsync(
                async () => (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).FirstOrDefault(match),
                m => m is not null, TimeSpan.FromSeconds(20), what))!;

        async Task<string> TokenAsync(Regex link, Func<JsonObject, bool> match, string what)
        {
            var url = link.Match((await MailAsync(match, what))["text"]!.ToString()).Value;
            return Uri.UnescapeDataString(url[(url.IndexOf("t=", StringComparison.Ordinal) + 2)..]);
        }

        Task<string> RespondTokenAsync(string id) =>
            TokenAsync(RespondLink(), m => m["subject"]!.ToString() == $"New referral {id}" && m["to"]![0]!.ToString() == SpecialistEmail, $"the offer of {id}");

        Task<HttpResponseMessage> AnswerAsync(string token, string decision) =>
            http.PostAsync("/api/specialist/respond", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token, ["decision"] = decision, ["reason"] = "not-a-fit" }));

        async Task<int> OpenOffersAsync() =>
            (await loads.GetEntityIfExistsAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, Specialist)) is { HasValue: true } row ? row.Value!.Count : 0;

        async Task<int> AcceptedAsync()
        {
            var total = 0;
            await foreach (var row in loads.QueryAsync<SpecialistLoadEntity>(TableClient.CreateQueryFilter($"PartitionKey ne {OpenOffersEntity.PartitionKeyValue} and RowKey eq {Specialist}")))
            {
                total += row.Accepted;
            }

            return total;
        }

        // A burst of four fake submissions: two are offered (the bound), two go to the triage coordinator at once.
        var fakes = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            fakes.Add((await SubmitAsync()).Id);
        }

        var settled = new List<string>();
        foreach (var id in fakes)
        {
            settled.Add(await SettledAsync(id));
        }

        Assert.Equal(2, settled.Count(s => s == "Notified"));
        Assert.Equal(2, settled.Count(s => s == "NeedsTriage"));
        var held = fakes.Where((_, i) => settled[i] == "NeedsTriage").First();
        var explanation = await http.GetFromJsonAsync<JsonObject>($"/api/ops/referrals/{held}/routing?code={TestKeys.Host}");
        Assert.Contains(explanation!["decisions"]![0]!["excluded"]!.AsArray(), e => e!["SpecialistId"]!.ToString() == Specialist && e["Rule"]!.ToString() == Router.OffersPending);
        Assert.Equal(2, await OpenOffersAsync());
        Assert.Equal(0, await AcceptedAsync());

        // The specialist declines one fake; the other is never answered and times out. Neither used any capacity.
        var offered = fakes.Where((_, i) => settled[i] == "Notified").ToList();
        Assert.Equal(HttpStatusCode.OK, (await AnswerAsync(await RespondTokenAsync(offered[0]), "decline")).StatusCode);
        Assert.Equal(1, await OpenOffersAsync());
        var routing = services.GetRequiredService<IOptions<RoutingOptions>>();
        var later = new FakeTimeProvider(DateTimeOffset.UtcNow + routing.Value.ReminderAfter + routing.Value.TimeoutAfterReminder + TimeSpan.FromHours(1));
        var referrals = new TableClient(azurite.ConnectionString, StorageNames.ReferralsTable);
        var notifications = services.GetRequiredService<PipelineQueues>();
        var router = new ReferralRouter(referrals, notifications, services.GetRequiredService<SpecialistDirectory>(), routing, later, NullLogger<ReferralRouter>.Instance);
        var monitor = new SlaMonitor(referrals, notifications, router, routing, later, NullLogger<SlaMonitor>.Instance);
        Assert.Equal(1, (await monitor.CheckAsync(CancellationToken.None)).Rerouted);
        Assert.Equal(0, await OpenOffersAsync());
        Assert.Equal(0, await AcceptedAsync());

        // A real visitor afterwards still finds the specialist with their whole week, and the acceptance is what counts.
        var (real, _) = await SubmitAsync();
        Assert.Equal("Notified", await SettledAsync(real));
        Assert.Equal(1, await OpenOffersAsync());
        Assert.Equal(HttpStatusCode.OK, (await AnswerAsync(await RespondTokenAsync(real), "accept")).StatusCode);
        Assert.Equal("Accepted", await SettledAsync(real));
        Assert.Equal(0, await OpenOffersAsync());
        Assert.Equal(1, await AcceptedAsync());

        // A visitor who withdraws while their offer is open frees it too.
        var (withdrawn, email) = await SubmitAsync();
        Assert.Equal("Notified", await SettledAsync(withdrawn));
        Assert.Equal(1, await OpenOffersAsync());
        var token = await TokenAsync(WithdrawLink(), m => m["to"]![0]!.ToString() == email && WithdrawLink().IsMatch(m["text"]!.ToString()), "the withdraw link");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/api/withdraw", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token }))).StatusCode);
        Assert.Equal(0, await OpenOffersAsync());
        Assert.Equal(1, await AcceptedAsync());
    }

    [Fact]
    public async Task The_recount_corrects_open_offers_left_wrong_by_a_crash_but_not_a_change_in_progress()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var specialists = new TableClient(fixture.Azurite.ConnectionString, $"Spec{suffix}");
        var loads = new TableClient(fixture.Azurite.ConnectionString, $"Load{suffix}");
        var referrals = new TableClient(fixture.Azurite.ConnectionString, $"Ref{suffix}");
        await Task.WhenAll(specialists.CreateAsync(), loads.CreateAsync(), referrals.CreateAsync());
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 3, 12, 9, 0, 0, TimeSpan.Zero));
        var directory = new SpecialistDirectory(specialists, loads, Options.Create(new DirectoryOptions()), clock);
        var recount = new RecountOpenOffers(referrals, directory, NullLogger<RecountOpenOffers>.Instance);

        // leaked: a crash after two offers ended left the count at 2. moving: just offered, the referral not yet written.
        // missing: an open offer whose count was never written (as after upgrading from capacity counted on offering).
        await loads.AddEntityAsync(new OpenOffersEntity { RowKey = "leaked", Count = 2, ChangedAt = clock.GetUtcNow() - TimeSpan.FromHours(1) });
        await loads.AddEntityAsync(new OpenOffersEntity { RowKey = "moving", Count = 1, ChangedAt = clock.GetUtcNow() - TimeSpan.FromMinutes(1) });
        foreach (var (status, specialist) in new[] { (ReferralStatus.Notified, "missing"), (ReferralStatus.Accepted, "leaked"), (ReferralStatus.NeedsTriage, "leaked") })
        {
            var id = ReferralId.New();
            var referral = ReferralEntity.From(id, new ValidReferral("Rita Recount", $"{id}@example.com", "VT", "iv-ketamine-infusion"), clock.GetUtcNow());
            referral.Status = status.ToString();
            referral.AssignedSpecialistId = specialist;
            await referrals.AddEntityAsync(referral);
        }

        var corrected = await recount.RecountAsync(CancellationToken.None);

        Assert.Equal(["leaked", "missing"], corrected);
        Assert.Equal(0, (await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "leaked")).Value.Count);
        Assert.Equal(1, (await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "missing")).Value.Count);
        Assert.Equal(1, (await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "moving")).Value.Count);

        clock.Advance(RecountOpenOffers.QuietFor);
        Assert.Equal(["moving"], await recount.RecountAsync(CancellationToken.None));
        Assert.Equal(0, (await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "moving")).Value.Count);
    }

    [GeneratedRegex(@"http\S+/api/specialist/respond\?t=\S+")]
    private static partial Regex RespondLink();

    [GeneratedRegex(@"http\S+/api/withdraw\?t=\S+")]
    private static partial Regex WithdrawLink();
}
