using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Referrals.IntegrationTests;

/// <summary>What every email the app sends must carry for SendGrid to deliver it as we mean it.</summary>
[Collection(PipelineCollection.Name)]
public class EmailDeliveryTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    [Fact]
    public async Task A_name_with_address_separators_still_gets_its_confirmation_under_a_cleaned_name()
    {
        var email = $"separators-{Guid.NewGuid():N}@example.com";
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Doe, Jane; Jr.", email, state = "NY", treatment = "iv-ketamine-infusion", consent = true, privacyAcknowledged = true, adult = true,
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var confirmation = await Eventually.UntilAsync(
            async () => (await Mails()).FirstOrDefault(m => m["to"]![0]!.ToString() == email), m => m is not null, TimeSpan.FromSeconds(20), "the confirmation");
        var to = confirmation!["payload"]!["personalizations"]![0]!["to"]![0]!;
        Assert.Equal("Doe Jane Jr.", to["name"]!.ToString());
    }

    [Fact]
    public async Task Every_email_switches_click_and_open_tracking_off_so_signed_links_are_never_rewritten()
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Tracy Tracking", email = $"tracking-{Guid.NewGuid():N}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        await Eventually.UntilAsync(async () => (await Mails()).Count(m => m["subject"]!.ToString().Contains(id, StringComparison.Ordinal)), n => n >= 2,
            TimeSpan.FromSeconds(20), "the confirmation and the specialist's email");

        // Every email the app sent (other tests drive the sink directly with SendGrid's client, from other addresses).
        var mails = (await Mails()).Where(m => m["from"]!.ToString().Contains("referrals@clinic.test", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(mails);
        foreach (var mail in mails)
        {
            var tracking = mail["payload"]!["tracking_settings"];
            Assert.False(tracking?["click_tracking"]?["enable"]?.GetValue<bool>() ?? true, $"click tracking in \"{mail["subject"]}\"");
            Assert.False(tracking?["click_tracking"]?["enable_text"]?.GetValue<bool>() ?? true, $"click tracking of text in \"{mail["subject"]}\"");
            Assert.False(tracking?["open_tracking"]?["enable"]?.GetValue<bool>() ?? true, $"open tracking in \"{mail["subject"]}\"");
        }
    }

    private async Task<List<JsonObject>> Mails() =>
        (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).ToList();
}
