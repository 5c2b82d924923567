using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Referrals.Functions.Intake;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>Input rules through the HTTP layer: characters that survive JSON and form decoding, and the body size limit.</summary>
[Collection(PipelineCollection.Name)]
public partial class InputTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private static string NewEmail() => $"input-{Guid.NewGuid():N}@example.com";

    private async Task<int> StoredCountAsync(string email)
    {
        var count = 0;
        var table = new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);
        await foreach (var _ in table.QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"Email eq {email}")))
        {
            count++;
        }

        return count;
    }

    private static Dictionary<string, object?> Json(string email) => new()
    {
        ["name"] = "Jane Doe", ["email"] = email, ["state"] = "NY", ["treatment"] = "oral-ketamine",
        ["consent"] = true, ["privacyAcknowledged"] = true, ["adult"] = true,
    };

    public static TheoryData<string, string, string> BadCharacters() => new()
    {
        { "name", "Jane Doe\n", "must be on one line" },
        { "name", "\r\nJane Doe", "must be on one line" },
        { "name", "Jane Doe\t", "characters we cannot accept" },
        { "name", "Jane\u202E Doe", "characters we cannot accept" },
        { "insurance", "Aetna\u2028", "must be on one line" },
        { "email", "jane\u200B@example.com", "hidden or unusual characters" },
        { "email", "jane@exa\u200Dmple.com", "hidden or unusual characters" },
        { "email", "jane@exa_mple.com", "like name@example.com" },
        { "email", "jane@192.168.0.1", "like name@example.com" },
    };

    [Theory]
    [MemberData(nameof(BadCharacters))]
    public async Task Json_with_a_bad_character_gets_a_400_naming_the_field_and_nothing_is_stored(string field, string value, string expected)
    {
        var email = NewEmail();
        var body = Json(email);
        body[field] = field == "email" ? value.Replace("jane", $"jane{Guid.NewGuid():N}", StringComparison.Ordinal) : value;

        var response = await http.PostAsJsonAsync("/api/referrals", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Contains(expected, errors[field]![0]!.ToString());
        Assert.Equal(0, await StoredCountAsync(email));
    }

    [Theory]
    [InlineData("name", "Jane Doe\r\n", "must be on one line")]
    [InlineData("email", "jane\u200B@example.com", "hidden or unusual characters")]
    [InlineData("email", "jane@exam!ple.com", "like name@example.com")]
    public async Task A_form_post_with_a_bad_character_comes_back_with_the_error_and_nothing_is_stored(string field, string value, string expected)
    {
        var renderedAt = DateTimeOffset.UtcNow;
        var stamp = StampPattern().Match(await http.GetStringAsync("/api/interest")).Groups[1].Value;
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);
        var email = NewEmail();
        var fields = new Dictionary<string, string>
        {
            ["name"] = "Jane Doe", ["email"] = email, ["state"] = "NY", ["treatment"] = "oral-ketamine", ["contactMethod"] = "email",
            ["consent"] = "yes", ["privacyAcknowledged"] = "yes", ["adult"] = "yes", ["stamp"] = stamp, ["website"] = "",
        };
        fields[field] = value;

        var response = await http.PostAsync("/api/referrals", new FormUrlEncodedContent(fields));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains($"id=\"{field}-error\"", html);
        Assert.Contains(expected, html);
        Assert.Equal(0, await StoredCountAsync(email));
    }

    [Fact]
    public async Task A_learn_more_link_with_invisible_characters_leads_to_a_form_that_still_sends()
    {
        var response = await http.GetAsync("/api/learn-more/oral-ketamine?post=ketamine%E2%80%8B-therapy&utm_source=blog&utm_campaign=autumn%C2%AD");
        var location = response.Headers.Location!.ToString();
        var renderedAt = DateTimeOffset.UtcNow;
        var form = await http.GetStringAsync(location);
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);
        var fields = Regex.Matches(form, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">").ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        var email = NewEmail();
        fields["name"] = "Jane Doe";
        fields["email"] = email;
        fields["state"] = "NY";
        fields["treatment"] = "oral-ketamine";
        fields["consent"] = fields["privacyAcknowledged"] = fields["adult"] = "yes";

        var sent = await http.PostAsync("/api/referrals", new FormUrlEncodedContent(fields));

        Assert.Equal("/api/interest?topic=oral-ketamine&utm_source=blog", location);
        Assert.Equal("blog", fields["utm_source"]);
        Assert.False(fields.ContainsKey("post"));
        Assert.Equal(HttpStatusCode.SeeOther, sent.StatusCode);
        Assert.Equal(1, await StoredCountAsync(email));
    }

    public static TheoryData<string, bool, string> PaddedBodies()
    {
        var data = new TheoryData<string, bool, string>();
        foreach (var kind in new[] { "json", "form" })
        {
            foreach (var chunked in new[] { false, true })
            {
                foreach (var where in new[] { "before", "inside", "after" })
                {
                    data.Add(kind, chunked, where);
                }
            }
        }

        return data;
    }

    /// <summary>A body that is valid apart from whitespace padding that takes it past 16 KB.</summary>
    private static (byte[] Body, string Email) Padded(string kind, string where, int padding)
    {
        var email = NewEmail();
        var pad = new string(kind == "json" ? ' ' : '+', padding); // in a form body, + is an encoded space
        string body;
        if (kind == "json")
        {
            var json = System.Text.Json.JsonSerializer.Serialize(Json(email));
            body = where switch
            {
                "before" => pad + json,
                "inside" => json.Replace(",", "," + pad, StringComparison.Ordinal),
                _ => json + pad,
            };
        }
        else
        {
            var form = $"name=Jane+Doe&email={Uri.EscapeDataString(email)}&state=NY&treatment=oral-ketamine&consent=yes&privacyAcknowledged=yes&adult=yes";
            body = where switch
            {
                "before" => "padding=" + pad + "&" + form,
                "inside" => form.Replace("name=Jane+Doe", "name=" + pad + "Jane+Doe", StringComparison.Ordinal),
                _ => form + "&message=" + pad,
            };
        }

        return (Encoding.UTF8.GetBytes(body), email);
    }

    private async Task<HttpResponseMessage> PostAsync(string kind, bool chunked, byte[] body)
    {
        // StreamContent has no length, so HttpClient sends it chunked; ByteArrayContent sends Content-Length.
        HttpContent content = chunked ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(kind == "json" ? "application/json" : "application/x-www-form-urlencoded");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = content };
        request.Headers.TransferEncodingChunked = chunked;
        return await http.SendAsync(request);
    }

    [Theory]
    [MemberData(nameof(PaddedBodies))]
    public async Task A_body_padded_with_whitespace_past_16_kb_gets_413_and_nothing_is_stored(string kind, bool chunked, string where)
    {
        var (body, email) = Padded(kind, where, 17 * 1024);
        Assert.True(body.Length > IntakeOptions.MaxBodyBytes);

        var response = await PostAsync(kind, chunked, body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        if (chunked)
        {
            Assert.Null(response.RequestMessage!.Content!.Headers.ContentLength);
        }

        Assert.Equal(0, await StoredCountAsync(email));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_limit_counts_every_byte_whitespace_included(bool chunked)
    {
        var (unpadded, _) = Padded("json", "after", 0);
        var (exact, exactEmail) = Padded("json", "after", IntakeOptions.MaxBodyBytes - unpadded.Length);
        var (over, overEmail) = Padded("json", "after", IntakeOptions.MaxBodyBytes - unpadded.Length + 1);

        var atLimit = await PostAsync("json", chunked, exact);
        var pastLimit = await PostAsync("json", chunked, over);

        Assert.Equal(IntakeOptions.MaxBodyBytes, exact.Length);
        Assert.Equal(HttpStatusCode.Accepted, atLimit.StatusCode);
        Assert.Equal(1, await StoredCountAsync(exactEmail));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, pastLimit.StatusCode);
        Assert.Equal(0, await StoredCountAsync(overEmail));
    }

    [GeneratedRegex("name=\"stamp\" value=\"([^\"]+)\"")]
    private static partial Regex StampPattern();
}
