using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The real pipeline (intake, routing, notification) keeps the index row in step with every move and email.</summary>
[Collection(OpsIndexCollection.Name)]
public class OpsIndexPipelineTests(LifecycleFixture fixture)
{
    [Fact]
    public async Task A_submitted_referral_is_listed_at_once_and_its_row_follows_it_to_Notified_with_its_emails()
    {
        var submitted = await fixture.Http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Ines Indexed", email = $"indexed-{Guid.NewGuid():N}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true, topic = "iv-ketamine-infusion", post = "pipeline-post",
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!.ToString();

        var item = await Eventually.UntilAsync(
            async () => (await fixture.Http.GetFromJsonAsync<JsonObject>($"/api/ops/referrals?code={TestKeys.Host}&source=pipeline-post"))!["items"]!.AsArray()
                .FirstOrDefault(i => i!["id"]!.ToString() == id),
            i => i?["status"]?.ToString() == "Notified",
            TimeSpan.FromSeconds(30),
            "the listed referral to be Notified");
        Assert.Equal("iv-ketamine-infusion", item!["treatment"]!.ToString());
        Assert.Equal("iv-ketamine-infusion", item["topic"]!.ToString());
        Assert.NotNull(item["specialistId"]);

        var index = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralIndexTable);
        var row = IndexedReferral.From(Assert.Single(index.Query<TableEntity>(TableClient.CreateQueryFilter($"Id eq {id}"))));
        Assert.NotNull(row.MarkOf(Core.Referrals.ReferralStatus.Routed));
        Assert.NotNull(row.MarkOf(Core.Referrals.ReferralStatus.Notified));
        Assert.Equal(2, row.Emails.Count(e => e.State == EmailLedgerEntity.Sent));
    }
}
