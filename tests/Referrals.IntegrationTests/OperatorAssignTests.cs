using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Core.Routing;
using Referrals.Functions.Routing;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Assigning a triage referral by hand: the specialist must match, capacity is checked as routing checks it, and only a
/// stated override goes past it. On its own Azurite, with a directory small enough to fill.
/// </summary>
public class OperatorAssignTests
{
    [Fact]
    public async Task An_operator_assigns_a_triage_referral_only_to_a_matching_specialist_with_room_unless_the_override_is_stated()
    {
        // vt-1 may hold one offer (capacity 1), so the second Vermont referral waits in triage; nh-1 is not licensed in VT.
        var directoryFile = Path.Combine(Path.GetTempPath(), $"referrals-assign-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(directoryFile, """
            id,name,practice,email,states,treatments,rems_certified,telehealth,in_person,accepting_new_patients,weekly_capacity,languages,insurance_networks,out_of_office,time_zone
            vt-1,Dr. Vera Tess,Green Mountain Ketamine,vera.tess@example.org,VT,iv-ketamine-infusion,false,true,true,true,1,en,,,America/New_York
            nh-1,Dr. Noah Hale,Granite Ketamine,noah.hale@example.org,NH,iv-ketamine-infusion,false,true,true,true,5,en,,,America/New_York
            """);
        await using var azurite = await AzuriteInstance.StartAsync();
        await using var host = await PipelineFixture.StartHostAsync(azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Directory:SpecialistsFile"] = directoryFile,
            ["Routing:MaxOpenOffers"] = "2",
        });
        using var http = new HttpClient(new DistinctClientHandler { InnerHandler = new HttpClientHandler { AllowAutoRedirect = false } }) { BaseAddress = host.BaseAddress };
        await Eventually.UntilAsync(() => host.Services.GetRequiredService<SpecialistDirectory>().FindAsync("nh-1", CancellationToken.None), s => s is not null, TimeSpan.FromSeconds(20), "the directory import");

        var offered = await http.SubmitAsync($"assign-a-{Guid.NewGuid():N}@example.com", state: "VT");
        Assert.Equal("vt-1", (await http.StatusAsync(offered, "Notified"))["specialistId"]!.ToString());
        var waiting = await http.SubmitAsync($"assign-b-{Guid.NewGuid():N}@example.com", state: "VT");
        await http.StatusAsync(waiting, "NeedsTriage");
        Task<HttpResponseMessage> AssignAsync(string id, object body) => http.PostAsync($"/api/ops/referrals/{id}/assign", body);

        Assert.Equal(HttpStatusCode.BadRequest, (await AssignAsync(waiting, new { specialistId = "vt-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await AssignAsync(waiting, new { reason = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await AssignAsync(waiting, new { specialistId = "nobody", reason = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await AssignAsync("R-00000-00000", new { specialistId = "vt-1", reason = "x" })).StatusCode);
        var notTriage = await AssignAsync(offered, new { specialistId = "vt-1", reason = "x" });
        Assert.Equal(HttpStatusCode.Conflict, notTriage.StatusCode);

        var unlicensed = await AssignAsync(waiting, new { specialistId = "nh-1", reason = "Knows the family" });
        Assert.Equal(HttpStatusCode.Conflict, unlicensed.StatusCode);
        Assert.Equal(Router.NotLicensed, (await unlicensed.Content.ReadFromJsonAsync<JsonObject>())!["rule"]!.ToString());

        var full = await AssignAsync(waiting, new { specialistId = "vt-1", reason = "Only specialist in the state" });
        Assert.Equal(HttpStatusCode.Conflict, full.StatusCode);
        Assert.Equal(Router.OffersPending, (await full.Content.ReadFromJsonAsync<JsonObject>())!["rule"]!.ToString());
        Assert.Equal("NeedsTriage", (await http.DetailAsync(waiting))["status"]!.ToString());
        Assert.Empty((await http.DetailAsync(waiting))["audit"]!.AsArray());

        var assigned = await AssignAsync(waiting, new { specialistId = "vt-1", reason = "Only specialist in the state; agreed by phone", overrideCapacity = true });

        Assert.Equal(HttpStatusCode.OK, assigned.StatusCode);
        var answer = (await assigned.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(("Routed", "vt-1"), (answer["status"]!.ToString(), answer["specialistId"]!.ToString()));
        await http.MailCountAsync(m => m.Is($"New referral {waiting}", "vera.tess@example.org"), 1, "the specialist's offer, as after routing");
        var detail = await http.StatusAsync(waiting, "Notified");
        var audit = Assert.Single(detail["audit"]!.AsArray())!;
        Assert.Equal(("assign", "ops-test"), (audit["action"]!.ToString(), audit["keyName"]!.ToString()));
        Assert.Equal($"specialist=vt-1; capacity overridden: {Router.OffersPending}", audit["detail"]!.ToString());
        Assert.Equal("Operator", detail["history"]!.AsArray().Last(h => h!["status"]!.ToString() == "Routed")!["actor"]!.ToString());
        Assert.Equal("vt-1", detail["routing"]!.AsArray()[^1]!["specialistId"]!.ToString());
        Assert.Equal("assign", Assert.Single(await http.AuditAsync(waiting))["action"]!.ToString());

        // The override counts the offer like any other, so its decline or acceptance balances it.
        var open = await new TableClient(azurite.ConnectionString, StorageNames.SpecialistLoadTable).GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "vt-1");
        Assert.Equal(2, open.Value.Count);
    }
}
