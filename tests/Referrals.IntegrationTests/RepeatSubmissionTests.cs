using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Issue 8, point 2: a repeat submission (dedupe, a reused Idempotency-Key) discloses nothing, the public status holds
/// a word and dates only, and the thank-you page shows only what its own form post left in a signed cookie.
/// </summary>
[Collection(PipelineCollection.Name)]
public class RepeatSubmissionTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private static Dictionary<string, object?> Json(string email, string name = "Olive Owner", string treatment = "iv-ketamine-infusion") => new()
    {
        ["name"] = name, ["email"] = email, ["state"] = "NY", ["treatment"] = treatment,
        ["consent"] = true, ["privacyAcknowledged"] = true, ["adult"] = true,
    };

    private static string NewEmail() => $"repeat-{Guid.NewGuid():N}@example.com";

    private static string NewClient() => $"2001:db8:e{Random.Shared.Next(0, 0xfff):x}:{Random.Shared.Next(1, 65535):x}::1"; // a /64 of its own: IPv6 clients are limited per /64

    private Task<HttpResponseMessage> PostAsync(object body, string? client = null, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(body) };
        request.Headers.Add("X-Forwarded-For", client ?? NewClient());
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return http.SendAsync(request);
    }

    private static async Task<string> IdOfAsync(HttpResponseMessage response) => (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();

    private async Task<List<JsonObject>> MailsAsync() => (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).ToList();

    private static bool To(JsonObject mail, string address) => mail["to"]!.AsArray().Any(t => t!.ToString() == address);

    private static bool Mentions(JsonObject mail, string text) =>
        mail["subject"]!.ToString().Contains(text, StringComparison.Ordinal) || mail["text"]!.ToString().Contains(text, StringComparison.Ordinal)
        || mail["html"]!.ToString().Contains(text, StringComparison.Ordinal);

    private Task<JsonObject?> WaitForOpsStatusAsync(string id, params string[] statuses) =>
        Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => statuses.Contains(s!["status"]!.ToString()), TimeSpan.FromSeconds(20), $"{id} to be {string.Join(" or ", statuses)}");

    private async Task<List<EmailLedgerEntity>> LedgerAsync(string referralId)
    {
        var rows = new List<EmailLedgerEntity>();
        var ledger = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);
        await foreach (var row in ledger.QueryAsync<EmailLedgerEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {referralId} and RowKey ge {EmailLedgerEntity.RowKeyPrefix} and RowKey lt {"email."}")))
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task A_repeat_from_another_sender_gets_a_new_looking_reference_that_exists_and_the_owner_is_emailed_instead()
    {
        var email = NewEmail();
        var first = await PostAsync(Json(email));
        var ownerId = await IdOfAsync(first);
        await Eventually.UntilAsync(async () => (await MailsAsync()).Count(m => To(m, email)), n => n == 1, TimeSpan.FromSeconds(20), "the owner's confirmation");

        var again = await PostAsync(Json(email.ToUpperInvariant(), name: "Mallory Probe"));

        // The same answer as a new submission: status, headers, body shape; a fresh reference, never the owner's.
        Assert.Equal(first.StatusCode, again.StatusCode);
        var body = (await again.Content.ReadFromJsonAsync<JsonObject>())!;
        var repeatId = body["id"]!.ToString();
        Assert.True(ReferralId.IsWellFormed(repeatId));
        Assert.NotEqual(ownerId, repeatId);
        Assert.Equal($"/api/referrals/{repeatId}", again.Headers.Location!.ToString());
        Assert.Equal(["id", "status", "statusUrl"], body.Select(p => p.Key));
        Assert.Equal("received", body["status"]!.ToString());
        Assert.DoesNotContain(ownerId, await again.Content.ReadAsStringAsync());

        // The reference exists and reads like any new referral's.
        var publicRepeat = (await http.GetFromJsonAsync<JsonObject>($"/api/referrals/{repeatId}"))!;
        var publicOwner = (await http.GetFromJsonAsync<JsonObject>($"/api/referrals/{ownerId}"))!;
        Assert.Equal(publicOwner.Select(p => p.Key), publicRepeat.Select(p => p.Key));
        Assert.Equal("received", publicRepeat["status"]!.ToString());
        Assert.DoesNotContain(ownerId, publicRepeat.ToJsonString());

        // Behind it: a stub with nothing the sender typed, pointing operators at the owner's referral.
        var ops = (await http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(repeatId)))!;
        Assert.Equal("Duplicate", ops["status"]!.ToString());
        Assert.Equal(ownerId, ops["duplicateOf"]!.ToString());
        var stub = (await new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable).GetEntityAsync<ReferralEntity>(repeatId, ReferralEntity.RowKeyValue)).Value;
        Assert.Equal(("", "", "", ""), (stub.Name, stub.Email, stub.State, stub.Treatment));

        // The owner is told, by the notice that names their own reference; the repeat's reference is never emailed.
        var notice = await Eventually.UntilAsync(
            async () => (await MailsAsync()).FirstOrDefault(m => To(m, email) && m["subject"]!.ToString() == $"We already have your request ({ownerId})"),
            m => m is not null, TimeSpan.FromSeconds(20), "the duplicate notice");
        Assert.Contains("nothing else you need to do", notice!["text"]!.ToString());
        Assert.DoesNotContain(await MailsAsync(), m => Mentions(m, repeatId));
        Assert.Equal(2, (await MailsAsync()).Count(m => To(m, email)));
        Assert.Equal("Duplicate", (await WaitForOpsStatusAsync(repeatId, "Duplicate"))!["status"]!.ToString()); // never routed
    }

    [Fact]
    public async Task Duplicate_notices_count_against_the_daily_cap_like_confirmations_and_each_is_sent_once()
    {
        var email = NewEmail();
        var ownerId = await IdOfAsync(await PostAsync(Json(email)));
        await Eventually.UntilAsync(async () => (await MailsAsync()).Count(m => To(m, email)), n => n == 1, TimeSpan.FromSeconds(20), "the owner's confirmation");

        var repeats = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            repeats.Add(await IdOfAsync(await PostAsync(Json(email))));
        }

        var decided = await Eventually.UntilAsync(
            async () => (await LedgerAsync(ownerId)).Where(r => r.LedgerKey.StartsWith("DuplicateNotice-", StringComparison.Ordinal) && r.State is EmailLedgerEntity.Sent or EmailLedgerEntity.Suppressed).ToList(),
            rows => rows.Count == 3, TimeSpan.FromSeconds(20), "all three notices to be decided");

        Assert.Equal(repeats.Select(r => $"DuplicateNotice-{r}").Order(), decided.Select(r => r.LedgerKey).Order());
        Assert.Single(decided, r => r.State == EmailLedgerEntity.Suppressed); // 3 a day: the confirmation and two notices
        Assert.Equal(3, (await MailsAsync()).Count(m => To(m, email)));
    }

    [Fact]
    public async Task An_idempotency_key_is_scoped_to_its_client_and_bound_to_its_body()
    {
        var key = Guid.NewGuid().ToString();
        var client = NewClient();
        var email = NewEmail();

        var first = await PostAsync(Json(email), client, key);
        var retry = await PostAsync(Json(email), client, key);
        var otherBody = await PostAsync(Json(NewEmail(), name: "Someone Else"), client, key);
        var otherClientEmail = NewEmail();
        var otherClient = await PostAsync(Json(otherClientEmail), NewClient(), key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var firstId = await IdOfAsync(first);
        Assert.Equal(firstId, await IdOfAsync(retry));
        Assert.Equal(first.Headers.Location, retry.Headers.Location);

        Assert.Equal((HttpStatusCode)422, otherBody.StatusCode);
        Assert.Equal("application/problem+json", otherBody.Content.Headers.ContentType!.MediaType);
        var problem = await otherBody.Content.ReadAsStringAsync();
        Assert.Contains("Idempotency-Key", problem);
        Assert.DoesNotContain(firstId, problem);

        Assert.Equal(HttpStatusCode.Accepted, otherClient.StatusCode);
        var otherId = await IdOfAsync(otherClient);
        Assert.NotEqual(firstId, otherId);
        await WaitForOpsStatusAsync(otherId, "Notified");
        await WaitForOpsStatusAsync(firstId, "Notified");

        var referrals = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);
        var stored = new List<ReferralEntity>();
        await foreach (var row in referrals.QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"Name eq {"Someone Else"} or Email eq {email}")))
        {
            stored.Add(row);
        }

        Assert.Equal(firstId, Assert.Single(stored).PartitionKey); // the other body left nothing behind
        await Eventually.UntilAsync(async () => (await MailsAsync()).Count(m => To(m, email)), n => n == 1, TimeSpan.FromSeconds(20), "one confirmation");
    }

    [Fact]
    public async Task The_public_status_holds_a_word_and_dates_only()
    {
        var response = await PostAsync(Json(NewEmail()));
        var id = await IdOfAsync(response);
        var routed = (await WaitForOpsStatusAsync(id, "Notified"))!;
        var specialist = routed["assignedSpecialistId"]!.ToString();

        var text = await http.GetStringAsync($"/api/referrals/{id}");
        var status = JsonNode.Parse(text)!.AsObject();

        Assert.Equal(["id", "status", "receivedAt", "changedAt"], status.Select(p => p.Key));
        Assert.Equal("received", status["status"]!.ToString());
        Assert.Equal(status["receivedAt"]!.ToString(), status["changedAt"]!.ToString());
        Assert.DoesNotContain(specialist, text);
        foreach (var inner in new[] { "Routed", "Notified", "history", "reason", "Specialist", "urgent" })
        {
            Assert.DoesNotContain(inner, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task The_thank_you_page_never_shows_what_a_reference_in_the_url_names()
    {
        var body = Json(NewEmail());
        body["urgent"] = true;
        var id = await IdOfAsync(await PostAsync(body));
        using var client = IntakeTests.CookielessClient(fixture);

        var page = await client.GetStringAsync($"/api/interest/thanks?ref={id}");

        Assert.DoesNotContain(id, page);
        Assert.DoesNotContain("Please reach out for support now", page);
        Assert.Contains("Thank you: we received your request", page);
    }

    [Fact]
    public async Task A_tampered_thank_you_cookie_shows_the_plain_page()
    {
        var html = await http.GetStringAsync("/api/interest");
        var stamp = System.Text.RegularExpressions.Regex.Match(html, "name=\"stamp\" value=\"([^\"]+)\"").Groups[1].Value;
        await PipelineFixture.AfterMinimumFillTimeAsync(DateTimeOffset.UtcNow);
        var post = await http.PostAsync("/api/referrals", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["name"] = "Tess Tamper", ["email"] = NewEmail(), ["state"] = "NY", ["treatment"] = "oral-ketamine", ["consent"] = "yes",
            ["privacyAcknowledged"] = "yes", ["adult"] = "yes", ["urgent"] = "yes", ["stamp"] = stamp, ["website"] = "",
        }));
        var cookie = post.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        var value = cookie["referral-thanks=".Length..];
        var parts = value.Split('.')[1..]; // after the key id: reference, urgent flag, expiry, signature
        var keyId = value.Split('.')[0];
        var otherReference = ReferralId.New();
        using var client = IntakeTests.CookielessClient(fixture);

        async Task<string> ThanksWith(string cookieValue)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/api/interest/thanks");
            request.Headers.Add("Cookie", $"referral-thanks={cookieValue}");
            return await (await client.SendAsync(request)).Content.ReadAsStringAsync();
        }

        Assert.Contains(parts[0], await ThanksWith(value)); // the genuine cookie works
        foreach (var tampered in new[]
        {
            $"{keyId}.{otherReference}.{parts[1]}.{parts[2]}.{parts[3]}",
            $"{keyId}.{parts[0]}.0.{parts[2]}.{parts[3]}",
            $"{keyId}.{parts[0]}.{parts[1]}.{long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) + 86400}.{parts[3]}",
            $"{keyId}.{parts[0]}.{parts[1]}.{parts[2]}.{parts[3][..^2]}xx",
            $"retired.{parts[0]}.{parts[1]}.{parts[2]}.{parts[3]}",
        })
        {
            var page = await ThanksWith(tampered);
            Assert.DoesNotContain(parts[0], page);
            Assert.DoesNotContain(otherReference, page);
            Assert.DoesNotContain("Please reach out for support now", page);
            Assert.Contains("Thank you: we received your request", page);
        }
    }
}
