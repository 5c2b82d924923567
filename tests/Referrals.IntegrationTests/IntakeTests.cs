using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Referrals.Functions.Intake;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>The intake endpoint, the form and the learn-more links, through the DevHost on a real Azurite.</summary>
[Collection(PipelineCollection.Name)]
public partial class IntakeTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private TableClient Table(string name) => new(fixture.Azurite.ConnectionString, name);

    private static Dictionary<string, object?> Json(string email, string treatment = "iv-ketamine-infusion") => new()
    {
        ["name"] = "Jane Doe", ["email"] = email, ["state"] = "NY", ["treatment"] = treatment,
        ["consent"] = true, ["privacyAcknowledged"] = true, ["adult"] = true,
    };

    private static string NewEmail() => $"visitor-{Guid.NewGuid():N}@example.com";

    private async Task<List<ReferralEntity>> StoredForAsync(string email)
    {
        var rows = new List<ReferralEntity>();
        await foreach (var row in Table(StorageNames.ReferralsTable).QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"Email eq {email}")))
        {
            rows.Add(row);
        }

        return rows;
    }

    private async Task<int> MailsToAsync(string address) =>
        (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Count(m => m!["to"]!.AsArray().Any(t => t!.ToString() == address));

    private async Task<(string Stamp, string Html)> GetFormAsync(string path = "/api/interest")
    {
        var html = await http.GetStringAsync(path);
        return (StampPattern().Match(html).Groups[1].Value, html);
    }

    private static FormUrlEncodedContent Form(string stamp, string email, params (string Key, string Value)[] extra)
    {
        var fields = new Dictionary<string, string>
        {
            ["name"] = "Jane Doe", ["email"] = email, ["state"] = "NY", ["treatment"] = "oral-ketamine", ["contactMethod"] = "email",
            ["consent"] = "yes", ["privacyAcknowledged"] = "yes", ["adult"] = "yes", ["stamp"] = stamp, ["website"] = "",
        };
        foreach (var (key, value) in extra)
        {
            fields[key] = value;
        }

        return new FormUrlEncodedContent(fields);
    }


    [Fact]
    public async Task A_form_post_is_answered_with_303_to_the_thank_you_page_and_a_signed_cookie_carrying_the_reference()
    {
        var renderedAt = DateTimeOffset.UtcNow;
        var (stamp, _) = await GetFormAsync();
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);
        var email = NewEmail();

        var response = await http.PostAsync("/api/referrals", Form(stamp, email));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/api/interest/thanks", response.Headers.Location!.ToString()); // URLs get logged: no reference in them
        var stored = Assert.Single(await StoredForAsync(email));
        var cookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith("referral-thanks=", cookie);
        foreach (var attribute in new[] { "path=/api/interest/thanks", "max-age=900", "samesite=lax", "httponly" })
        {
            Assert.Contains(attribute, cookie.ToLowerInvariant());
        }

        Assert.DoesNotContain("secure", cookie.ToLowerInvariant()); // plain http here; https requests get Secure
        var thanks = await ThanksPageAsync(response);
        Assert.Contains(stored.PartitionKey, thanks);
        Assert.Contains("What happens next", thanks);
    }

    [Fact]
    public async Task A_form_post_with_errors_shows_the_form_again_with_inline_messages_and_the_values_kept()
    {
        var renderedAt = DateTimeOffset.UtcNow;
        var (stamp, _) = await GetFormAsync();
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);
        var email = "not-an-email";

        var response = await http.PostAsync("/api/referrals", Form(stamp, email, ("name", "Jane <Doe>"), ("adult", ""), ("message", "Please call after 5")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("There is a problem", html);
        Assert.Contains("id=\"email-error\"", html);
        Assert.Contains("id=\"adult-error\"", html);
        Assert.Contains("value=\"not-an-email\"", html);
        Assert.Contains("value=\"Jane &lt;Doe&gt;\"", html);
        Assert.Contains(">Please call after 5</textarea>", html);
        Assert.Contains("<option value=\"oral-ketamine\" selected>", html);
    }

    public static TheoryData<string, Dictionary<string, object?>> BadJson() => new()
    {
        { "name", new() { ["name"] = null } },
        { "email", new() { ["email"] = "jane@example.com\r\nBcc: someone@example.com" } },
        { "name", new() { ["name"] = "Jane\nDoe" } },
        { "name", new() { ["name"] = "Jane\u0007" } },
        { "name", new() { ["name"] = new string('a', 101) } },
        { "message", new() { ["message"] = new string('a', 1001) } },
        { "phone", new() { ["phone"] = "12" } },
        { "state", new() { ["state"] = "ZZ" } },
        { "treatment", new() { ["treatment"] = "miracle" } },
        { "topic", new() { ["topic"] = "miracle-cure" } },
        { "consent", new() { ["consent"] = false } },
        { "adult", new() { ["adult"] = null } },
    };

    [Theory]
    [MemberData(nameof(BadJson))]
    public async Task Bad_json_input_gets_a_400_problem_naming_the_field_and_nothing_is_stored(string field, Dictionary<string, object?> change)
    {
        var email = NewEmail();
        var body = Json(email);
        foreach (var (key, value) in change)
        {
            body[key] = value;
        }

        var response = await http.PostAsJsonAsync("/api/referrals", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(problem!["errors"]!.AsObject().ContainsKey(field), problem.ToJsonString());
        Assert.Empty(await StoredForAsync(email));
    }

    [Fact]
    public async Task A_body_over_16_kb_gets_413()
    {
        var body = Json(NewEmail());
        body["message"] = new string('a', 17 * 1024);

        var response = await http.PostAsJsonAsync("/api/referrals", body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_body_over_16_kb_without_a_length_header_gets_413()
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"message\":\"" + new string('a', 17 * 1024) + "\"}")));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.SendAsync(request)).StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    public async Task A_wrong_content_type_gets_415(string contentType)
    {
        var response = await http.PostAsync("/api/referrals", new StringContent("name=Jane", Encoding.UTF8, contentType));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_filled_honeypot_looks_like_success_but_nothing_is_stored_routed_or_emailed()
    {
        var email = NewEmail();
        var body = Json(email);
        body["website"] = "http://spam.example";
        var spamBefore = await SpamCountAsync("honeypot");

        var response = await http.PostAsJsonAsync("/api/referrals", body);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith("R-", (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString());
        Assert.Empty(await StoredForAsync(email));
        Assert.Equal(spamBefore + 1, await SpamCountAsync("honeypot"));
        Assert.Equal(0, await MailsToAsync(email));
    }

    [Fact]
    public async Task A_form_post_with_a_forged_stamp_is_dropped_silently()
    {
        var email = NewEmail();
        var spamBefore = await SpamCountAsync("bad-stamp");

        var response = await http.PostAsync("/api/referrals", Form("1000.abc.forged", email));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/api/interest/thanks", response.Headers.Location!.ToString());
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Empty(await StoredForAsync(email));
        Assert.Equal(spamBefore + 1, await SpamCountAsync("bad-stamp"));
    }

    [Fact]
    public async Task A_form_with_a_filled_honeypot_is_dropped_silently_and_its_thank_you_page_names_nothing()
    {
        var renderedAt = DateTimeOffset.UtcNow;
        var (stamp, _) = await GetFormAsync();
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);
        var email = NewEmail();

        var response = await http.PostAsync("/api/referrals", Form(stamp, email, ("website", "http://spam.example")));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/api/interest/thanks", response.Headers.Location!.ToString());
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Empty(await StoredForAsync(email));
        Assert.DoesNotContain("class=\"reference\"", await ThanksPageAsync(response));
    }

    [Fact]
    public async Task The_sixth_submission_in_an_hour_from_one_client_gets_429_with_retry_after()
    {
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        var client = $"2001:db8:abcd:{Random.Shared.Next(1, 0x10000):x}::1"; // a /64 of its own: IPv6 clients are limited per /64
        for (var i = 0; i < 6; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(Json(NewEmail())) };
            request.Headers.Add("X-Forwarded-For", client);
            last = await http.SendAsync(request);
            statuses.Add(last.StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Accepted, 5), HttpStatusCode.TooManyRequests], statuses);
        Assert.InRange(last!.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Assert.Equal("application/problem+json", last.Content.Headers.ContentType!.MediaType);
    }


    [Fact]
    public async Task No_address_gets_more_than_three_confirmations_a_day()
    {
        var email = NewEmail();
        var ids = new List<string>();
        foreach (var treatment in new[] { "iv-ketamine-infusion", "esketamine-nasal-spray", "oral-ketamine", "consultation" })
        {
            var response = await http.PostAsJsonAsync("/api/referrals", Json(email, treatment));
            ids.Add((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString());
        }

        foreach (var id in ids)
        {
            await Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() is "Notified" or "NeedsTriage", TimeSpan.FromSeconds(30), $"{id} to be notified");
        }

        await Eventually.UntilAsync(async () => await LedgerRowsAsync(ids), n => n == 4, TimeSpan.FromSeconds(20), "all four confirmations to be decided");
        Assert.Equal(3, await MailsToAsync(email));
    }

    [Fact]
    public async Task Source_attribution_and_urgency_are_stored_with_the_referral()
    {
        var email = NewEmail();
        var body = Json(email);
        body["topic"] = "esketamine-nasal-spray";
        body["post"] = "ketamine-therapy-depression";
        body["utm"] = new Dictionary<string, string> { ["utm_source"] = "blog", ["utm_campaign"] = "autumn" };
        body["urgent"] = true;
        body["phone"] = "(212) 555-0123";

        var response = await http.PostAsJsonAsync("/api/referrals", body);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();

        var stored = Assert.Single(await StoredForAsync(email));
        Assert.Equal("esketamine-nasal-spray", stored.Topic);
        Assert.Equal("ketamine-therapy-depression", stored.SourcePost);
        Assert.Equal("{\"utm_source\":\"blog\",\"utm_campaign\":\"autumn\"}", stored.Utm);
        Assert.True(stored.Urgent);
        Assert.Equal("+12125550123", stored.Phone);
        Assert.Equal(id, stored.PartitionKey);
    }

    [Fact]
    public async Task The_thank_you_page_of_an_urgent_form_post_leads_with_the_crisis_resources()
    {
        var renderedAt = DateTimeOffset.UtcNow;
        var (stamp, _) = await GetFormAsync();
        await PipelineFixture.AfterMinimumFillTimeAsync(renderedAt);

        var response = await http.PostAsync("/api/referrals", Form(stamp, NewEmail(), ("urgent", "yes")));

        var thanks = await ThanksPageAsync(response);
        Assert.Contains("Please reach out for support now", thanks);
        Assert.True(thanks.IndexOf("crisis-title", StringComparison.Ordinal) < thanks.IndexOf("What happens next", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_learn_more_link_records_the_click_and_redirects_to_the_form_with_topic_and_source()
    {
        var post = $"post-{Guid.NewGuid():N}";

        var response = await http.GetAsync($"/api/learn-more/iv-ketamine-infusion?post={post}&utm_source=blog&utm_medium=link&evil=1");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal($"/api/interest?topic=iv-ketamine-infusion&utm_source=blog&utm_medium=link&post={post}", response.Headers.Location!.ToString());
        var clicks = new List<TableEntity>();
        await foreach (var click in Table(StorageNames.ClicksTable).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Post eq {post}")))
        {
            clicks.Add(click);
        }

        var recorded = Assert.Single(clicks);
        Assert.Equal("iv-ketamine-infusion", recorded.GetString("Topic"));
        Assert.Equal("blog", recorded.GetString("utm_source"));
        var form = await http.GetStringAsync(response.Headers.Location);
        Assert.Contains("<option value=\"iv-ketamine-infusion\" selected>", form);
        Assert.Contains($"name=\"post\" value=\"{post}\"", form);
    }

    [Fact]
    public async Task An_unknown_learn_more_topic_still_leads_to_the_form_with_nothing_preselected()
    {
        var response = await http.GetAsync("/api/learn-more/no-such-topic?post=p1");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/api/interest?post=p1", response.Headers.Location!.ToString());
        var form = await http.GetStringAsync(response.Headers.Location);
        Assert.DoesNotContain(" selected>", form);
    }

    [Fact]
    public async Task Cors_allows_the_blog_origin_and_nothing_else()
    {
        async Task<HttpResponseMessage> Preflight(string origin)
        {
            var request = new HttpRequestMessage(HttpMethod.Options, "/api/referrals");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            return await http.SendAsync(request);
        }

        var allowed = await Preflight(PipelineFixture.BlogOrigin);
        var refused = await Preflight("https://evil.example");

        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(PipelineFixture.BlogOrigin, allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        // The platform answers every preflight itself (see PlatformCorsTests): another origin gets no CORS headers.
        Assert.Equal(HttpStatusCode.NoContent, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));

        var post = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(Json(NewEmail())) };
        post.Headers.Add("Origin", "https://evil.example");
        Assert.False((await http.SendAsync(post)).Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task The_form_page_is_self_contained_under_a_strict_content_security_policy()
    {
        var response = await http.GetAsync("/api/interest");

        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp);
        var nonce = Regex.Match(csp, "'nonce-([^']+)'").Groups[1].Value;
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains($"<script nonce=\"{nonce}\">", html);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task When_queueing_fails_the_request_fails_cleanly_and_the_reconciler_queues_the_stored_referral()
    {
        await using var broken = await PipelineFixture.StartHostAsync(fixture.Azurite, services =>
            services.AddKeyedSingleton(StorageNames.IntakeQueue, (_, _) => new QueueClient(fixture.Azurite.ConnectionString, "queue-that-does-not-exist")));
        using var brokenHttp = new HttpClient(new DistinctClientHandler { InnerHandler = new HttpClientHandler() }) { BaseAddress = broken.BaseAddress };
        var email = NewEmail();

        var response = await brokenHttp.PostAsJsonAsync("/api/referrals", Json(email));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        var stored = Assert.Single(await StoredForAsync(email));
        Assert.Equal("Received", stored.Status);

        // The reconciler of a healthy instance finds it once it has been Received for longer than ReconcileAfter.
        Assert.True(await PipelineFixture.Reconciler(fixture.Host, PipelineFixture.PastReconcileAfter()).RequeueStuckAsync(CancellationToken.None) >= 1);
        await Eventually.UntilAsync(
            () => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(stored.PartitionKey)),
            s => s!["status"]!.ToString() == "Notified",
            TimeSpan.FromSeconds(20),
            "the reconciled referral to flow on");
    }

    [Fact]
    public async Task A_new_referral_keeps_its_insert_etag_so_turning_it_into_a_stub_loses_to_a_concurrent_writer()
    {
        var table = Table(StorageNames.ReferralsTable);
        var referral = ReferralEntity.From(Referrals.Core.Referrals.ReferralId.New(), new Referrals.Core.Referrals.ValidReferral("Etta Tag", NewEmail(), "NY", "oral-ketamine"), DateTimeOffset.UtcNow);
        var received = new Referrals.Core.Referrals.StatusChange(Referrals.Core.Referrals.ReferralStatus.Received, DateTimeOffset.UtcNow, Referrals.Core.Referrals.Actor.Visitor, "test");

        await table.AddNewAsync(referral, received, CancellationToken.None);

        Assert.NotEqual(default, referral.ETag);
        await table.UpdateEntityAsync(new TableEntity(referral.PartitionKey, ReferralEntity.RowKeyValue) { ["Topic"] = "changed" }, Azure.ETag.All, TableUpdateMode.Merge);
        var stub = referral.ToCase();
        stub.MarkDuplicate(Referrals.Core.Referrals.ReferralId.New(), DateTimeOffset.UtcNow);
        var conflict = await Assert.ThrowsAnyAsync<Azure.RequestFailedException>(() => table.SaveAsync(referral, stub, CancellationToken.None));
        Assert.True(conflict.IsConflict());
    }

    [Fact]
    public async Task No_submitted_name_email_or_phone_appears_in_any_log_output()
    {
        var marker = Guid.NewGuid().ToString("N")[..8];
        var name = $"Zelda{marker} Quixote";
        var email = $"zelda-{marker}@example.com";
        var body = Json(email);
        body["name"] = name;
        body["phone"] = "(646) 555-0199";
        body["contactMethod"] = "text";
        var response = await http.PostAsJsonAsync("/api/referrals", body);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        await http.PostAsJsonAsync("/api/referrals", body); // a duplicate
        body["name"] = name + "\n";
        await http.PostAsJsonAsync("/api/referrals", body); // an invalid one
        await Eventually.UntilAsync(() => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)), s => s!["status"]!.ToString() == "Notified", TimeSpan.FromSeconds(20), "notified");

        var logs = fixture.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Message.Contains(id, StringComparison.Ordinal));
        foreach (var record in logs)
        {
            var text = record.Message + " " + record.Exception;
            Assert.DoesNotContain(marker, text);
            Assert.DoesNotContain("555-0199", text);
            Assert.DoesNotContain("6465550199", text);
        }
    }

    /// <summary>A client without a cookie jar, so that each test says exactly which cookie it sends.</summary>
    internal static HttpClient CookielessClient(PipelineFixture fixture) =>
        new(new DistinctClientHandler { InnerHandler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false } }) { BaseAddress = fixture.Host.BaseAddress };

    /// <summary>Follows a form post's redirect as its browser would: with the cookie it was given, and no other.</summary>
    internal static async Task<string> ThanksPageAsync(PipelineFixture fixture, HttpResponseMessage post)
    {
        using var client = CookielessClient(fixture);
        var request = new HttpRequestMessage(HttpMethod.Get, post.Headers.Location);
        if (post.Headers.TryGetValues("Set-Cookie", out var cookies))
        {
            request.Headers.Add("Cookie", cookies.Single().Split(';')[0]);
        }

        return await (await client.SendAsync(request)).Content.ReadAsStringAsync();
    }

    private Task<string> ThanksPageAsync(HttpResponseMessage post) => ThanksPageAsync(fixture, post);

    private async Task<int> SpamCountAsync(string reason)
    {
        var day = DateTimeOffset.UtcNow.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        var row = await Table(StorageNames.IntakeGuardsTable).GetEntityIfExistsAsync<TableEntity>($"spam-{reason}", day);
        return row.HasValue ? row.Value!.GetInt32("Count") ?? 0 : 0;
    }

    private async Task<int> LedgerRowsAsync(IEnumerable<string> ids)
    {
        var count = 0;
        foreach (var id in ids)
        {
            var row = await Table(StorageNames.ReferralsTable).GetEntityIfExistsAsync<EmailLedgerEntity>(id, EmailLedgerEntity.RowKeyFor("VisitorConfirmation"));
            count += row.HasValue ? 1 : 0;
        }

        return count;
    }

    [GeneratedRegex("name=\"stamp\" value=\"([^\"]+)\"")]
    private static partial Regex StampPattern();
}
