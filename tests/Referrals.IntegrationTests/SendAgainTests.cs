using Referrals.Core.Security;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Functions.Intake;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Issue 8, point 3: no real person is silently dropped. Too fast or too old gets the form back with the values and a
/// kind note; only a filled honeypot or a forged stamp gets the silent fake success. A stamp is bound to one submission.
/// </summary>
[Collection(PipelineCollection.Name)]
public partial class SendAgainTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private static string NewEmail() => $"again-{Guid.NewGuid():N}@example.com";

    private static string NewClient() => $"2001:db8:a{Random.Shared.Next(0, 0xfff):x}:{Random.Shared.Next(1, 65535):x}::1"; // a /64 of its own

    private static Dictionary<string, string> Fields(string stamp, string email, string name = "Sam Again") => new()
    {
        ["name"] = name, ["email"] = email, ["state"] = "NY", ["treatment"] = "oral-ketamine", ["contactMethod"] = "email",
        ["message"] = "Evenings & weekends", ["consent"] = "yes", ["privacyAcknowledged"] = "yes", ["adult"] = "yes", ["stamp"] = stamp, ["website"] = "",
    };

    private Task<HttpResponseMessage> PostFormAsync(Dictionary<string, string> fields, string? client = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Add("X-Forwarded-For", client ?? NewClient());
        return http.SendAsync(request);
    }

    private async Task<string> FreshStampAsync() => StampIn(await http.GetStringAsync("/api/interest"));

    private static string StampIn(string html) => StampPattern().Match(html).Groups[1].Value;

    private async Task<List<ReferralEntity>> StoredForAsync(string email)
    {
        var rows = new List<ReferralEntity>();
        await foreach (var row in new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable).QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"Email eq {email}")))
        {
            rows.Add(row);
        }

        return rows;
    }

    private static void AssertFormBackWithValues(string html, string email)
    {
        Assert.Contains("id=\"form-notice\"", html);
        Assert.Contains($"value=\"{email}\"", html);
        Assert.Contains("value=\"Sam Again\"", html);
        Assert.Contains(">Evenings &amp; weekends</textarea>", html);
        Assert.Contains("<option value=\"oral-ketamine\" selected>", html);
        Assert.Contains("name=\"consent\" value=\"yes\" checked", html);
        Assert.DoesNotContain("There is a problem", html); // nothing the visitor did wrong
    }

    [Fact]
    public async Task A_form_sent_faster_than_the_fill_time_comes_back_with_the_values_and_a_note_and_sends_on_the_next_try()
    {
        var stamp = await FreshStampAsync();
        var email = NewEmail();

        var tooFast = await PostFormAsync(Fields(stamp, email));

        Assert.Equal(HttpStatusCode.BadRequest, tooFast.StatusCode);
        Assert.Equal("text/html", tooFast.Content.Headers.ContentType!.MediaType);
        var html = await tooFast.Content.ReadAsStringAsync();
        AssertFormBackWithValues(html, email);
        Assert.Contains("Please check your details", html);
        var fresh = StampIn(html);
        Assert.NotEqual(stamp, fresh);
        Assert.False(tooFast.Headers.Contains("Set-Cookie"));
        Assert.Empty(await StoredForAsync(email));

        await PipelineFixture.AfterMinimumFillTimeAsync(DateTimeOffset.UtcNow);
        var again = await PostFormAsync(Fields(fresh, email));

        Assert.Equal(HttpStatusCode.SeeOther, again.StatusCode);
        var stored = Assert.Single(await StoredForAsync(email));
        Assert.Contains(stored.PartitionKey, await IntakeTests.ThanksPageAsync(fixture, again));
    }

    [Fact]
    public async Task A_form_sent_after_the_stamp_expired_comes_back_with_the_values_and_a_note()
    {
        var old = fixture.Host.Services.GetRequiredService<FormStamp>().Create(DateTimeOffset.UtcNow.AddHours(-3));
        var email = NewEmail();

        var response = await PostFormAsync(Fields(old, email));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        AssertFormBackWithValues(html, email);
        Assert.NotEqual(old, StampIn(html));
        Assert.Empty(await StoredForAsync(email));
    }

    [Fact]
    public async Task Json_with_a_stamp_that_is_too_new_gets_a_problem_asking_to_send_again()
    {
        var stamp = await FreshStampAsync();
        var email = NewEmail();

        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Sam Again", email, state = "NY", treatment = "oral-ketamine", consent = true, privacyAcknowledged = true, adult = true, stamp,
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("send your request again", (await response.Content.ReadFromJsonAsync<JsonObject>())!["title"]!.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await StoredForAsync(email));
    }

    [Fact]
    public async Task A_stamp_is_bound_to_one_submission()
    {
        var renderedAt = DateTimeOffset.UtcNow;
        var stamp = await FreshStampAsync();
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);
        var client = NewClient();
        var email = NewEmail();

        var first = await PostFormAsync(Fields(stamp, email), client);
        var doubleClick = await PostFormAsync(Fields(stamp, email), client);
        var otherEmail = NewEmail();
        var changed = await PostFormAsync(Fields(stamp, otherEmail), client);

        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, doubleClick.StatusCode);
        var stored = Assert.Single(await StoredForAsync(email));
        Assert.Contains(stored.PartitionKey, await IntakeTests.ThanksPageAsync(fixture, first));
        Assert.Contains(stored.PartitionKey, await IntakeTests.ThanksPageAsync(fixture, doubleClick));

        Assert.Equal((HttpStatusCode)422, changed.StatusCode);
        var html = await changed.Content.ReadAsStringAsync();
        Assert.Contains("This form was already sent", html);
        Assert.Contains($"value=\"{otherEmail}\"", html);
        Assert.DoesNotContain(stored.PartitionKey, html);
        Assert.NotEqual(stamp, StampIn(html));
        Assert.Empty(await StoredForAsync(otherEmail));
    }

    [GeneratedRegex("name=\"stamp\" value=\"([^\"]+)\"")]
    private static partial Regex StampPattern();
}
