using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>Poison handling through the real app: park, mark Failed, alert once, then replay or discard.</summary>
[Collection(PipelineCollection.Name)]
public class PoisonTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private async Task<string> NotifiedReferralAsync()
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Pat Poison", email = $"poison-{Guid.NewGuid():N}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        await WaitForStatusAsync(id, "Notified");
        return id;
    }

    private Task<JsonObject?> WaitForStatusAsync(string id, string status) =>
        Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == status, TimeSpan.FromSeconds(20), $"{id} to be {status}");

    private async Task PoisonAsync(string id)
    {
        var poison = new QueueClient(fixture.Azurite.ConnectionString, StorageNames.NotificationPoisonQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await poison.SendReferralAsync(id, CancellationToken.None);
    }

    private async Task<JsonObject> ParkedAsync(string id) =>
        (await Eventually.UntilAsync(
            async () => (await http.GetFromJsonAsync<JsonObject>($"/api/ops/poison?code={TestKeys.Host}"))!["messages"]!.AsArray()
                .Select(m => m!.AsObject()).Where(m => m["referralId"]?.ToString() == id).ToList(),
            rows => rows.Count > 0, TimeSpan.FromSeconds(20), "the message to be parked"))[0];

    private async Task<int> AlertsForAsync(string id) =>
        (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Count(m => m!["subject"]!.ToString() == $"Referral {id} failed");

    [Fact]
    public async Task A_poison_message_is_parked_marks_the_referral_failed_and_alerts_operators_once_then_replays()
    {
        var id = await NotifiedReferralAsync();

        await PoisonAsync(id);
        await PoisonAsync(id); // a second copy of the same failure
        await WaitForStatusAsync(id, "Failed");
        await Eventually.UntilAsync(() => AlertsForAsync(id), n => n == 1, TimeSpan.FromSeconds(20), "the operator alert");
        await Eventually.UntilAsync(
            async () => (await http.GetFromJsonAsync<JsonObject>($"/api/ops/poison?code={TestKeys.Host}"))!["messages"]!.AsArray().Count(m => m!["referralId"]?.ToString() == id),
            n => n == 2, TimeSpan.FromSeconds(20), "both copies to be parked");
        var parked = await ParkedAsync(id);

        var replay = await http.PostAsync($"/api/ops/poison/{parked["queue"]}/{parked["id"]}/replay?code={TestKeys.Host}", JsonContent.Create(new { reason = "Checked the failure" }));

        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var status = await WaitForStatusAsync(id, "Notified");
        Assert.Contains(status!["history"]!.AsArray(), h => h!["status"]!.ToString() == "Failed");
        Assert.Contains(status["history"]!.AsArray(), h => h!["actor"]!.ToString() == "Operator");
        Assert.Equal(1, await AlertsForAsync(id));
    }

    [Fact]
    public async Task A_discarded_poison_message_is_gone_and_the_referral_stays_failed()
    {
        var id = await NotifiedReferralAsync();
        await PoisonAsync(id);
        var parked = await ParkedAsync(id);

        var discard = await http.PostAsync($"/api/ops/poison/{parked["queue"]}/{parked["id"]}/discard?code={TestKeys.Host}", JsonContent.Create(new { reason = "Checked the failure" }));

        Assert.Equal(HttpStatusCode.OK, discard.StatusCode);
        var left = (await http.GetFromJsonAsync<JsonObject>($"/api/ops/poison?code={TestKeys.Host}"))!["messages"]!.AsArray();
        Assert.DoesNotContain(left, m => m!["id"]!.ToString() == parked["id"]!.ToString());
        Assert.Equal("Failed", (await http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)))!["status"]!.ToString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync($"/api/ops/poison/{parked["queue"]}/{parked["id"]}/replay?code={TestKeys.Host}", JsonContent.Create(new { reason = "Checked the failure" }))).StatusCode);
    }
}

/// <summary>The visitor's withdraw link: confirm, then the request stops and their details are erased.</summary>
[Collection(PipelineCollection.Name)]
public partial class WithdrawTests(PipelineFixture fixture)
{
    [Fact]
    public async Task A_visitor_withdraws_through_the_signed_link_and_their_details_are_erased()
    {
        var http = fixture.Http;
        var email = $"withdraw-{Guid.NewGuid():N}@example.com";
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Wanda Withdraw", email, phone = "2125550123", message = "private words", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        var confirmation = await Eventually.UntilAsync(
            async () => (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.FirstOrDefault(m => m!["to"]![0]!.ToString() == email),
            m => m is not null, TimeSpan.FromSeconds(20), "the confirmation");
        await Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == "Notified", TimeSpan.FromSeconds(20), "notified");
        var link = WithdrawLink().Match(confirmation!["text"]!.ToString()).Value;
        var token = Uri.UnescapeDataString(link[(link.IndexOf("t=", StringComparison.Ordinal) + 2)..]);

        var ask = await http.GetStringAsync(link);
        Assert.Contains("Withdraw and erase my details", ask);
        Assert.Equal("Notified", (await http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)))!["status"]!.ToString());

        var done = await http.PostAsync("/api/withdraw", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token }));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal("Withdrawn", (await http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)))!["status"]!.ToString());
        var stored = (await new Azure.Data.Tables.TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable).GetEntityAsync<ReferralEntity>(id, ReferralEntity.RowKeyValue)).Value;
        Assert.Equal("", stored.Name);
        Assert.Equal("", stored.Email);
        Assert.Null(stored.Phone);
        Assert.Null(stored.Message);
        Assert.Equal("", stored.Treatment);

        var again = await http.PostAsync("/api/withdraw", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token }));
        Assert.Contains("Already withdrawn", await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(link[..^2] + "xx")).StatusCode);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"http\S+/api/withdraw\?t=\S+")]
    private static partial System.Text.RegularExpressions.Regex WithdrawLink();
}
