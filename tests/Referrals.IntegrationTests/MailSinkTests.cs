using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SendGrid;
using SendGrid.Helpers.Mail;

namespace Referrals.IntegrationTests;

/// <summary>The DevHost's SendGrid stand-in, driven by SendGrid's own client as the app drives it.</summary>
[Collection(PipelineCollection.Name)]
public class MailSinkTests(PipelineFixture fixture)
{
    private SendGridClient Client(string apiKey) =>
        new(new HttpClient(), new SendGridClientOptions { ApiKey = apiKey, Host = new Uri(fixture.Host.BaseAddress, "sendgrid").ToString() });

    [Fact]
    public async Task A_valid_mail_is_accepted_with_a_message_id_and_shown_in_the_viewer()
    {
        var subject = $"Sink check {Guid.NewGuid():N}";
        var message = MailHelper.CreateSingleEmail(new EmailAddress("from@clinic.test"), new EmailAddress("to@example.com"), subject, "plain <text>", "<p>html &amp; part</p>");

        var response = await Client(TestKeys.SendGrid).SendEmailAsync(message);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var messageId = Assert.Single(response.Headers.GetValues("X-Message-Id"));
        var stored = Assert.Single((await fixture.Http.GetFromJsonAsync<JsonArray>("/mail/messages"))!, m => m!["subject"]!.ToString() == subject)!;
        Assert.Equal(messageId, stored["messageId"]!.ToString());
        Assert.Equal("plain <text>", stored["text"]!.ToString());

        var page = await fixture.Http.GetStringAsync("/mail");
        Assert.Contains(subject, page);
        Assert.Contains("plain &lt;text&gt;", page);
        Assert.DoesNotContain("plain <text>", page);
    }

    [Fact]
    public async Task A_wrong_api_key_gets_sendgrids_401()
    {
        var message = MailHelper.CreateSingleEmail(new EmailAddress("from@clinic.test"), new EmailAddress("to@example.com"), "s", "t", null);

        var response = await Client("SG.wrong").SendEmailAsync(message);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.DeserializeResponseBodyAsync();
        Assert.True(body.ContainsKey("errors"));
    }

    [Theory]
    [InlineData("""{"personalizations":[{"to":[{"email":"to@example.com"}]}],"subject":"s","content":[{"type":"text/plain","value":"t"}]}""", "from")]
    [InlineData("""{"from":{"email":"not an address"},"personalizations":[{"to":[{"email":"to@example.com"}]}],"subject":"s","content":[{"type":"text/plain","value":"t"}]}""", "from.email")]
    [InlineData("""{"from":{"email":"f@clinic.test"},"personalizations":[],"subject":"s","content":[{"type":"text/plain","value":"t"}]}""", "personalizations")]
    [InlineData("""{"from":{"email":"f@clinic.test"},"personalizations":[{"to":[]}],"subject":"s","content":[{"type":"text/plain","value":"t"}]}""", "personalizations.0.to")]
    [InlineData("""{"from":{"email":"f@clinic.test"},"personalizations":[{"to":[{"email":"to@example.com","name":"Doe, Jane"}]}],"subject":"s","content":[{"type":"text/plain","value":"t"}]}""", "personalizations.0.to.0.name")]
    [InlineData("""{"from":{"email":"f@clinic.test"},"personalizations":[{"to":[{"email":"to@example.com"}]}],"content":[{"type":"text/plain","value":"t"}]}""", "subject")]
    [InlineData("""{"from":{"email":"f@clinic.test"},"personalizations":[{"to":[{"email":"to@example.com"}]}],"subject":"s","content":[{"type":"text/plain","value":""}]}""", "content.0.value")]
    [InlineData("""{"from":{"email":"f@clinic.test"},"personalizations":[{"to":[{"email":"to@example.com"}]}],"subject":"s","content":[{"type":"text/html","value":"<p>h</p>"},{"type":"text/plain","value":"t"}]}""", "content")]
    public async Task An_invalid_payload_gets_sendgrids_400_naming_the_field(string payload, string field)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/sendgrid/v3/mail/send") { Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.SendGrid);

        var response = await fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsArray();
        Assert.Contains(errors, e => e!["field"]?.ToString() == field && !string.IsNullOrEmpty(e["message"]?.ToString()));
    }
}
