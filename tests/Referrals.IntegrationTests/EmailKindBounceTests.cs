using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>Bounces mark the visitor unreachable only for the kinds EmailKinds describes as going to the visitor.</summary>
[Collection(PipelineCollection.Name)]
public class EmailKindBounceTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    [Fact]
    public async Task A_bounced_specialist_email_leaves_the_visitor_reachable()
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Bo Bounce", email = $"bounce-{Guid.NewGuid():N}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        var ledger = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);
        var specialistEmail = await Eventually.UntilAsync(
            async () => await ledger.GetEntityIfExistsAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("SpecialistNewReferral-1")) is { HasValue: true } found ? found.Value : null,
            r => r?.ProviderMessageId is not null, TimeSpan.FromSeconds(20), "the specialist email to be sent");

        await http.SendAsync(SendGridEventTests.Post(SendGridEventTests.Events(specialistEmail!, (Guid.NewGuid().ToString("N"), "bounce")), DateTimeOffset.UtcNow));

        // The bounce was recorded on the specialist's email, and only there.
        Assert.Equal("bounce", (await ledger.GetEntityAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("SpecialistNewReferral-1"))).Value.LastEvent);
        var view = await http.GetFromJsonAsync<JsonObject>($"/api/ops/referrals/{id}/routing?code={TestKeys.Host}");
        Assert.Equal("reachable", view!["visitor"]!.ToString());
    }
}
