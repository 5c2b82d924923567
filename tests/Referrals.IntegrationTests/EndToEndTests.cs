using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Referrals.IntegrationTests;

/// <summary>The walking skeleton through the DevHost over HTTP: intake, routing and notification into the mail sink.</summary>
[Collection(PipelineCollection.Name)]
public class EndToEndTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private static object Submission(string email, string state = "NY", string treatment = "iv-ketamine-infusion") =>
        new { name = "Jane Doe", email, state, treatment, consent = true, privacyAcknowledged = true, adult = true };

    [Fact]
    public async Task A_referral_flows_from_post_to_two_emails_in_the_mail_viewer()
    {
        var email = $"visitor-{Guid.NewGuid():N}@example.com";

        var response = await http.PostAsJsonAsync("/api/referrals", Submission(email));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        var id = body!["id"]!.ToString();
        Assert.Equal("received", body["status"]!.ToString());
        Assert.Equal($"/api/referrals/{id}", response.Headers.Location!.ToString());
        Assert.Equal($"/api/referrals/{id}", body["statusUrl"]!.ToString());

        var status = await Eventually.UntilAsync(
            () => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)),
            s => s!["status"]!.ToString() == "Notified",
            TimeSpan.FromSeconds(20),
            "the referral to be notified");
        Assert.Equal(["Received", "Routed", "Notified"], status!["history"]!.AsArray().Select(h => h!["status"]!.ToString()));

        var mails = await MailsMentioningAsync(id);
        var visitorMail = Assert.Single(mails, m => m["to"]!.AsArray().Any(t => t!.ToString() == email));
        Assert.Contains(id, visitorMail["subject"]!.ToString());
        // Two New York specialists offer infusions; either may be chosen, depending on this week's load.
        var specialistMail = Assert.Single(mails, m => m["to"]!.AsArray().Any(t => t!.ToString() is "amara.okafor@example.org" or "rafael.ortiz@example.org"));
        Assert.Contains(id, specialistMail["subject"]!.ToString());
        Assert.Equal(2, mails.Count);
    }

    [Fact]
    public async Task A_referral_nobody_can_take_goes_to_triage_and_the_coordinator_is_emailed()
    {
        // No specialist in the sample directory is licensed in Alaska.
        var response = await http.PostAsJsonAsync("/api/referrals", Submission($"visitor-{Guid.NewGuid():N}@example.com", state: "AK"));
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();

        await Eventually.UntilAsync(
            async () => (await MailsMentioningAsync(id)).Count,
            count => count == 3,
            TimeSpan.FromSeconds(20),
            "the visitor, triage and operators' emails");

        var mails = await MailsMentioningAsync(id);
        Assert.Contains(mails, m => m["to"]![0]!.ToString() == "triage@clinic.test");
        // Operators hear of every referral that reached triage (the shared host has no quiet period).
        Assert.Contains(mails, m => m["to"]![0]!.ToString() == "operators@clinic.test");
        var status = await http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id));
        Assert.Equal("NeedsTriage", status!["status"]!.ToString());
    }

    [Fact]
    public async Task The_anonymous_status_resource_shows_no_personal_data()
    {
        var email = $"private-{Guid.NewGuid():N}@example.com";
        var response = await http.PostAsJsonAsync("/api/referrals", new { name = "Zebulon Quix", email, state = "CA", treatment = "esketamine-nasal-spray", consent = true, privacyAcknowledged = true, adult = true });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();

        var text = await http.GetStringAsync($"/api/referrals/{id}");

        Assert.Contains(id, text);
        Assert.DoesNotContain("Zebulon", text);
        Assert.DoesNotContain(email, text);
        Assert.DoesNotContain("esketamine", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"CA\"", text);
    }

    [Fact]
    public async Task Invalid_input_gets_problem_details_naming_each_field_and_nothing_is_queued()
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new { name = "", email = "nope", state = "ZZ", treatment = "iv-ketamine-infusion", consent = false });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(["adult", "consent", "email", "name", "privacyAcknowledged", "state"], problem!["errors"]!.AsObject().Select(e => e.Key).Order());
    }

    [Fact]
    public async Task Malformed_json_gets_a_400_problem()
    {
        var response = await http.PostAsync("/api/referrals", new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task An_unknown_reference_is_a_404_problem()
    {
        var response = await http.GetAsync("/api/referrals/R-00000-00000");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    private async Task<List<JsonObject>> MailsMentioningAsync(string referralId)
    {
        var all = await http.GetFromJsonAsync<JsonArray>("/mail/messages");
        return all!.Select(m => m!.AsObject()).Where(m => m["subject"]!.ToString().Contains(referralId, StringComparison.Ordinal)).ToList();
    }
}
