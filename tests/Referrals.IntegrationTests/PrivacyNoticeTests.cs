using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Referrals.IntegrationTests;

/// <summary>The privacy notice: served with the configured periods, and linked from the form and both visitor emails.</summary>
[Collection(PipelineCollection.Name)]
public partial class PrivacyNoticeTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private string PrivacyUrl => new Uri(fixture.Host.BaseAddress, "api/privacy").ToString();

    private async Task<JsonObject> WaitForMailAsync(Func<JsonObject, bool> match, string what) =>
        (await Eventually.UntilAsync(
            async () => (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).FirstOrDefault(match),
            m => m is not null, TimeSpan.FromSeconds(20), what))!;

    [Fact]
    public async Task The_notice_is_served_to_anyone_under_the_strict_page_policy_with_the_default_periods()
    {
        var response = await http.GetAsync("/api/privacy");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<h1>Privacy notice</h1>", html);
        Assert.Contains("Your details: <strong>180 days</strong>", html);
        Assert.Contains("delivery reports about them: <strong>30 days</strong>", html);
        Assert.Contains("which hold no personal details: <strong>90 days</strong>", html);
        Assert.Contains("which stops working after 7 days.", html);
        Assert.Contains("The link works for 90 days.", html);
    }

    [Fact]
    public async Task The_notice_follows_the_settings()
    {
        await using var host = await PipelineFixture.StartHostAsync(fixture.Azurite, extraSettings: new Dictionary<string, string?>
        {
            ["Retention:PersonalData"] = "60.00:00:00",
            ["Retention:EmailRecords"] = "14.00:00:00",
            ["Retention:PoisonMessages"] = "1.00:00:00",
            ["Retention:LinkClicks"] = "12:00:00",
            ["Routing:LinkLifetime"] = "3.00:00:00",
            ["Routing:WithdrawLinkLifetime"] = "45.00:00:00",
        });
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        var html = await client.GetStringAsync("/api/privacy");

        Assert.Contains("Your details: <strong>60 days</strong>", html);
        Assert.Contains("delivery reports about them: <strong>14 days</strong>", html);
        Assert.Contains("(they hold only your reference): <strong>1 day</strong>", html);
        Assert.Contains("which hold no personal details: <strong>12 hours</strong>", html);
        Assert.Contains("which stops working after 3 days.", html);
        Assert.Contains("The link works for 45 days.", html);
        Assert.DoesNotContain("180 days", html);
    }

    [Fact]
    public async Task The_form_links_to_the_notice()
    {
        var form = await http.GetStringAsync("/api/interest");

        var href = PrivacyLink().Match(form).Groups[1].Value;

        Assert.Equal("/api/privacy", href);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(href)).StatusCode);
    }

    [Fact]
    public async Task Both_visitor_emails_link_to_the_notice()
    {
        var email = $"privacy-link-{Guid.NewGuid():N}@example.com";
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Pat Privacy", email, state = "NY", treatment = "iv-ketamine-infusion", consent = true, privacyAcknowledged = true, adult = true,
        });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();

        var confirmation = await WaitForMailAsync(m => m["subject"]!.ToString() == $"We received your request ({id})", "the confirmation");
        var specialist = await WaitForMailAsync(m => m["subject"]!.ToString() == $"New referral {id}", "the specialist email");
        var link = RespondLink().Match(specialist["text"]!.ToString()).Value;
        var token = Uri.UnescapeDataString(link[(link.IndexOf("t=", StringComparison.Ordinal) + 2)..]);
        await Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == "Notified", TimeSpan.FromSeconds(20), "notified");
        var accepted = await http.PostAsync("/api/specialist/respond", new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token, ["decision"] = "accept" }));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var acceptedMail = await WaitForMailAsync(m => m["subject"]!.ToString() == $"A specialist will contact you ({id})", "the accepted email");

        foreach (var mail in new[] { confirmation, acceptedMail })
        {
            Assert.Equal(email, mail["to"]![0]!.ToString());
            Assert.Contains($"How we handle your details: {PrivacyUrl}", mail["text"]!.ToString());
            Assert.Contains($"<a href=\"{PrivacyUrl}\">", mail["html"]!.ToString());
        }
    }

    [GeneratedRegex("<label for=\"field-privacyAcknowledged\">I have read the <a href=\"([^\"]+)\"")]
    private static partial Regex PrivacyLink();

    [GeneratedRegex(@"https?://\S+/api/specialist/respond\?t=[^\s#""]+")]
    private static partial Regex RespondLink();
}
