using Referrals.Functions.Notifications;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The Event Webhook with a key pair generated here, signed the way SendGrid signs (ECDSA P-256 over timestamp + body).</summary>
[Collection(PipelineCollection.Name)]
public class SendGridEventTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    internal static HttpRequestMessage Post(string payload, DateTimeOffset signedAt, bool sign = true, string? bodyOverride = null)
    {
        var timestamp = signedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/sendgrid/events")
        {
            Content = new StringContent(bodyOverride ?? payload, Encoding.UTF8, "application/json"),
        };
        if (sign)
        {
            var signature = PipelineFixture.WebhookKey.SignData(Encoding.UTF8.GetBytes(timestamp + payload), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
            request.Headers.Add("X-Twilio-Email-Event-Webhook-Signature", Convert.ToBase64String(signature));
            request.Headers.Add("X-Twilio-Email-Event-Webhook-Timestamp", timestamp);
        }

        return request;
    }

    private async Task<(string ReferralId, EmailLedgerEntity Email)> DeliveredReferralAsync()
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Eve Event", email = $"event-{Guid.NewGuid():N}@example.com", state = "NY", treatment = "iv-ketamine-infusion",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        var ledger = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);
        var row = await Eventually.UntilAsync(
            async () => await ledger.GetEntityIfExistsAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation")) is { HasValue: true } found ? found.Value : null,
            r => r?.ProviderMessageId is not null, TimeSpan.FromSeconds(20), "the confirmation to be sent");
        return (id, row!);
    }

    /// <summary>Events as SendGrid posts them for one of our emails: with the custom_args its send carried.</summary>
    internal static string Events(EmailLedgerEntity email, params (string EventId, string Event)[] events) =>
        Events(email.ProviderMessageId!, new Dictionary<string, string>
        {
            [SendNotifications.ReferralIdArg] = email.PartitionKey,
            [SendNotifications.LedgerKeyArg] = email.LedgerKey,
            [SendGridEvents.SendIdArg] = email.SendId!,
        }, events);

    /// <summary>Events for an email that is not ours (no custom_args).</summary>
    internal static string Events(string messageId, params (string EventId, string Event)[] events) => Events(messageId, [], events);

    private static string Events(string messageId, Dictionary<string, string> customArgs, (string EventId, string Event)[] events) =>
        new JsonArray(events.Select(e =>
        {
            var item = new JsonObject
            {
                ["email"] = "someone@example.com",
                ["timestamp"] = 1700000000,
                ["event"] = e.Event,
                ["sg_event_id"] = e.EventId,
                ["sg_message_id"] = $"{messageId}.filterdrecv-5645d9c87f-6r8lx-1-5D1A7B9B-1.0",
            };
            foreach (var (name, value) in customArgs)
            {
                item[name] = value;
            }

            return (JsonNode)item;
        }).ToArray()).ToJsonString();

    private async Task<string?> LastEventAsync(string referralId) =>
        (await new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable).GetEntityAsync<EmailLedgerEntity>(referralId, EmailLedgerEntity.RowKeyFor("VisitorConfirmation"))).Value.LastEvent;

    [Fact]
    public async Task A_valid_signed_post_records_the_event_on_its_email()
    {
        var (id, email) = await DeliveredReferralAsync();

        var response = await http.SendAsync(Post(Events(email, (Guid.NewGuid().ToString("N"), "delivered")), DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("delivered", await LastEventAsync(id));
    }

    [Fact]
    public async Task Unsigned_tampered_and_stale_posts_are_refused_and_change_nothing()
    {
        var (id, email) = await DeliveredReferralAsync();
        var payload = Events(email, (Guid.NewGuid().ToString("N"), "bounce"));

        var unsigned = await http.SendAsync(Post(payload, DateTimeOffset.UtcNow, sign: false));
        var tampered = await http.SendAsync(Post(payload, DateTimeOffset.UtcNow, bodyOverride: payload.Replace("bounce", "delivered", StringComparison.Ordinal)));
        var stale = await http.SendAsync(Post(payload, DateTimeOffset.UtcNow.AddMinutes(-6)));

        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Null(await LastEventAsync(id));
    }

    [Fact]
    public async Task A_repeated_event_is_recorded_once()
    {
        var (id, email) = await DeliveredReferralAsync();
        var eventId = Guid.NewGuid().ToString("N");

        var first = await (await http.SendAsync(Post(Events(email, (eventId, "deferred")), DateTimeOffset.UtcNow))).Content.ReadFromJsonAsync<JsonObject>();
        await http.SendAsync(Post(Events(email, (Guid.NewGuid().ToString("N"), "delivered")), DateTimeOffset.UtcNow));
        var repeat = await (await http.SendAsync(Post(Events(email, (eventId, "deferred")), DateTimeOffset.UtcNow))).Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(1, first!["recorded"]!.GetValue<int>());
        Assert.Equal(0, repeat!["recorded"]!.GetValue<int>());
        Assert.Equal("delivered", await LastEventAsync(id)); // the repeat of the older event did not overwrite
    }

    [Fact]
    public async Task A_bounced_visitor_address_is_shown_to_operators_as_unreachable()
    {
        var (id, email) = await DeliveredReferralAsync();

        await http.SendAsync(Post(Events(email, (Guid.NewGuid().ToString("N"), "bounce")), DateTimeOffset.UtcNow));

        var view = await http.GetFromJsonAsync<JsonObject>($"/api/ops/referrals/{id}/routing?code={TestKeys.Host}");
        Assert.Equal("unreachable", view!["visitor"]!.ToString());
    }
}
