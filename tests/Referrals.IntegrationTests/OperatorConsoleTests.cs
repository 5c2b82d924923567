using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// The operator console's referral detail and actions (re-route, resend, erase, poison replay and discard), each with
/// its reason and audit row, through the real app on Azurite.
/// </summary>
[Collection(PipelineCollection.Name)]
public class OperatorConsoleTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private TableClient Table(string name) => new(fixture.Azurite.ConnectionString, name);

    private async Task<List<TableEntity>> AuditRowsAsync(string id)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Table(StorageNames.ReferralsTable).QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {id} and RowKey ge {"audit-"} and RowKey lt {"audit."}")))
        {
            rows.Add(row);
        }

        return rows;
    }

    private static string NewEmail(string what) => $"{what}-{Guid.NewGuid():N}@example.com";

    [Fact]
    public async Task The_detail_joins_history_routing_emails_and_events_and_shows_personal_fields_only_with_a_reason_that_is_audited()
    {
        var email = NewEmail("detail");
        var id = await http.SubmitAsync(email, name: "Della Detail");
        await http.StatusAsync(id, "Notified");
        var detail = await Eventually.UntilAsync(() => http.DetailAsync(id),
            d => d["emails"]!.AsArray().Count(e => e!["state"]!.ToString() == "Sent") == 2, TimeSpan.FromSeconds(20), "both emails recorded as sent");

        Assert.Equal(JsonValueKind(null), JsonValueKind(detail["personal"]));
        Assert.Equal(("iv-ketamine-infusion", false, false), (detail["treatment"]!.ToString(), detail["erased"]!.GetValue<bool>(), detail["pastSla"]!.GetValue<bool>()));
        Assert.Equal(1, detail["assignment"]!.GetValue<int>());
        Assert.Equal(["Received", "Routed", "Notified"], detail["history"]!.AsArray().Select(h => h!["status"]!.ToString()));
        var decision = Assert.Single(detail["routing"]!.AsArray())!;
        Assert.Equal(detail["specialistId"]!.ToString(), decision["specialistId"]!.ToString());
        Assert.Equal(["SpecialistNewReferral", "VisitorConfirmation"], detail["emails"]!.AsArray().Select(e => e!["kind"]!.ToString()).Order());
        var timeline = detail["timeline"]!.AsArray().Select(t => t!.AsObject()).ToList();
        Assert.Equal(timeline.Select(t => t["at"]!.GetValue<DateTimeOffset>()).Order(), timeline.Select(t => t["at"]!.GetValue<DateTimeOffset>()));
        Assert.Equal(["email", "routing", "status"], timeline.Select(t => t["kind"]!.ToString()).Distinct().Order());
        Assert.DoesNotContain("Della", detail.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(detail["audit"]!.AsArray());

        var noReason = await http.SendAsync(OperatorApi.Request(HttpMethod.Get, $"/api/ops/referrals/{id}?personal=true"));
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);
        Assert.Equal("application/problem+json", noReason.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(OperatorApi.Request(HttpMethod.Get, $"/api/ops/referrals/{id}?personal=true", reason: "   "))).StatusCode);
        Assert.Empty(await AuditRowsAsync(id));

        var shown = await http.SendAsync(OperatorApi.Request(HttpMethod.Get, $"/api/ops/referrals/{id}?personal=true", reason: "Della Detail called about her request"));
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        var personal = (await shown.Content.ReadFromJsonAsync<JsonObject>())!["personal"]!;
        Assert.Equal(("Della Detail", email, "+12125550147", "NY"), (personal["name"]!.ToString(), personal["email"]!.ToString(), personal["phone"]!.ToString(), personal["state"]!.ToString()));

        // The view is in the referral's partition and the day log, naming the key, with the person's name blanked out.
        var row = Assert.Single(await AuditRowsAsync(id));
        Assert.Equal(("view-personal", "ops-test"), (row.GetString("Action"), row.GetString("KeyName")));
        Assert.Equal("[erased] called about her request", row.GetString("Reason"));
        var logged = Assert.Single(await http.AuditAsync(id));
        Assert.Equal(("view-personal", "ops-test", id), (logged["action"]!.ToString(), logged["keyName"]!.ToString(), logged["referralId"]!.ToString()));
        var after = await http.DetailAsync(id);
        Assert.Equal("view-personal", Assert.Single(after["audit"]!.AsArray())!["action"]!.ToString());
        Assert.Contains(after["timeline"]!.AsArray(), t => t!["kind"]!.ToString() == "audit");

        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(OperatorApi.Request(HttpMethod.Get, "/api/ops/referrals/R-00000-00000"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(OperatorApi.Request(HttpMethod.Get, "/api/ops/referrals/not-a-reference"))).StatusCode);
    }

    private static System.Text.Json.JsonValueKind JsonValueKind(JsonNode? node) => node?.GetValueKind() ?? System.Text.Json.JsonValueKind.Null;

    public static TheoryData<string, string> Routes() => new()
    {
        { "GET", "/api/ops/referrals/R-00000-00000" },
        { "GET", "/api/ops/referrals/R-00000-00000?personal=true" },
        { "POST", "/api/ops/referrals/R-00000-00000/assign" },
        { "POST", "/api/ops/referrals/R-00000-00000/reroute" },
        { "POST", "/api/ops/referrals/R-00000-00000/resend" },
        { "POST", "/api/ops/referrals/R-00000-00000/erase" },
        { "GET", "/api/ops/poison" },
        { "POST", $"/api/ops/poison/{StorageNames.IntakeQueue}/none/discard" },
        { "GET", "/api/ops/audit" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Every_console_route_refuses_a_request_without_a_key_or_with_a_wrong_one(string method, string path)
    {
        var body = method == "POST" ? new { reason = "test", specialistId = "sp-001", kind = "VisitorConfirmation" } : null;

        var none = await http.SendAsync(OperatorApi.Request(new HttpMethod(method), path, body, key: null, reason: "test"));
        var wrong = await http.SendAsync(OperatorApi.Request(new HttpMethod(method), path, body, key: "not-a-key", reason: "test"));
        var wrongCode = await http.SendAsync(OperatorApi.Request(new HttpMethod(method), path + (path.Contains('?') ? "&" : "?") + "code=not-a-key", body, key: null, reason: "test"));

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (none.StatusCode, wrong.StatusCode, wrongCode.StatusCode));
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await http.SendAsync(OperatorApi.Request(new HttpMethod(method), path, body, reason: "test"))).StatusCode);
    }

    [Fact]
    public async Task A_re_route_takes_the_offer_back_like_a_decline_then_ends_in_triage_and_each_is_audited()
    {
        var id = await http.SubmitAsync(NewEmail("reroute"));
        var first = (await http.StatusAsync(id, "Notified"))["specialistId"]!.ToString();

        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/api/ops/referrals/{id}/reroute", new { })).StatusCode);
        var rerouted = await http.PostAsync($"/api/ops/referrals/{id}/reroute", new { reason = "Specialist on leave, per phone call" });

        Assert.Equal(HttpStatusCode.OK, rerouted.StatusCode);
        var answer = (await rerouted.Content.ReadFromJsonAsync<JsonObject>())!;
        var second = answer["specialistId"]!.ToString();
        Assert.Equal("Routed", answer["status"]!.ToString());
        Assert.NotEqual(first, second);
        await http.MailCountAsync(m => m["subject"]!.ToString() == $"New referral {id}", 2, "the second specialist's offer");
        var detail = await http.StatusAsync(id, "Notified");
        var last = detail["history"]!.AsArray()[^1]!;
        Assert.Equal("Operator", detail["history"]!.AsArray().Last(h => h!["status"]!.ToString() == "Routed")!["actor"]!.ToString());
        Assert.Equal(2, detail["routing"]!.AsArray().Count);
        var audited = Assert.Single(detail["audit"]!.AsArray())!;
        Assert.Equal(("reroute", "ops-test", $"from={first}"), (audited["action"]!.ToString(), audited["keyName"]!.ToString(), audited["detail"]!.ToString()));
        Assert.Equal("Notified", last["status"]!.ToString());

        // Routing:MaxUnanswered is 2 here: the second take-back sends it to triage, and from there nobody else can take it.
        var triaged = await http.PostAsync($"/api/ops/referrals/{id}/reroute", new { reason = "Second specialist also away" });
        Assert.Equal("NeedsTriage", (await triaged.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.ToString());
        var stuck = await http.PostAsync($"/api/ops/referrals/{id}/reroute", new { reason = "Try again" });
        Assert.Equal(HttpStatusCode.Conflict, stuck.StatusCode);
        Assert.Equal(2, (await AuditRowsAsync(id)).Count);
        Assert.Equal(["reroute", "reroute"], (await http.AuditAsync(id)).Select(a => a["action"]!.ToString()));
    }

    [Fact]
    public async Task A_resend_sends_exactly_one_more_email_under_its_own_ledger_key_even_when_the_message_comes_again()
    {
        var email = NewEmail("resend");
        var id = await http.SubmitAsync(email);
        await http.StatusAsync(id, "Notified");
        var subject = $"We received your request ({id})";
        await http.MailCountAsync(m => m.Is(subject, email), 1, "the confirmation");

        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/api/ops/referrals/{id}/resend", new { kind = "VisitorConfirmation" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/api/ops/referrals/{id}/resend", new { kind = "Postcard", reason = "x" })).StatusCode);
        var notAccepted = await http.PostAsync($"/api/ops/referrals/{id}/resend", new { kind = "VisitorAccepted", reason = "x" });
        Assert.Equal(HttpStatusCode.Conflict, notAccepted.StatusCode);
        Assert.Equal("application/problem+json", notAccepted.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/ops/referrals/R-00000-00000/resend", new { kind = "VisitorConfirmation", reason = "x" })).StatusCode);

        var resent = await http.PostAsync($"/api/ops/referrals/{id}/resend", new { kind = "VisitorConfirmation", reason = "Address bounced; visitor corrected the mailbox" });

        Assert.Equal(HttpStatusCode.Accepted, resent.StatusCode);
        Assert.Equal("VisitorConfirmation~resend1", (await resent.Content.ReadFromJsonAsync<JsonObject>())!["ledgerKey"]!.ToString());
        await http.MailCountAsync(m => m.Is(subject, email), 2, "the resent confirmation");
        await Eventually.UntilAsync(() => http.DetailAsync(id),
            d => d["emails"]!.AsArray().Any(e => e!["ledgerKey"]!.ToString() == "VisitorConfirmation~resend1" && e["state"]!.ToString() == "Sent"), TimeSpan.FromSeconds(20), "the resend recorded as sent");

        // The same notification again (a redelivery, a retry): the resend's ledger row is done, so nothing more goes.
        var queue = new QueueClient(fixture.Azurite.ConnectionString, StorageNames.NotificationQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        // Other tests share this queue, so its depth never settles; watch this one message instead.
        await QueueMessages.UntilTakenAsync(queue, await queue.SendMessageAsync(JsonSerializer.Serialize(new ReferralMessage(id), JsonSerializerOptions.Web)), "the repeated message");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(2, (await http.MailsAsync(m => m.Is(subject, email))).Count);
        Assert.Single(await http.MailsAsync(m => m["subject"]!.ToString() == $"New referral {id}"));

        // A second resend is a third email, not a repeat of the first.
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync($"/api/ops/referrals/{id}/resend", new { kind = "VisitorConfirmation", reason = "Once more" })).StatusCode);
        await http.MailCountAsync(m => m.Is(subject, email), 3, "the second resend");
        var audited = (await http.DetailAsync(id))["audit"]!.AsArray();
        Assert.Equal(["kind=VisitorConfirmation; ledgerKey=VisitorConfirmation~resend1", "kind=VisitorConfirmation; ledgerKey=VisitorConfirmation~resend2"],
            audited.Select(a => a!["detail"]!.ToString()));
        Assert.All(audited, a => Assert.Equal("resend", a!["action"]!.ToString()));
    }

    [Fact]
    public async Task An_erase_names_the_operators_key_and_an_unknown_key_is_unnamed_and_the_detail_shows_the_stub()
    {
        var named = await http.SubmitAsync(NewEmail("erase-named"));
        var unnamed = await http.SubmitAsync(NewEmail("erase-unnamed"));
        await http.StatusAsync(named, "Notified");
        await http.StatusAsync(unnamed, "Notified");

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/ops/referrals/{named}/erase", new { reason = "Asked by phone" })).StatusCode);
        // The master key opens every route but has no name in Operators:KeyFingerprints.
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/ops/referrals/{unnamed}/erase", new { reason = "Asked by email" }, TestKeys.Master)).StatusCode);

        Assert.Equal(("ops-test", "operator"), (Assert.Single(await AuditRowsAsync(named)).GetString("KeyName"), Assert.Single(await AuditRowsAsync(named)).GetString("Actor")));
        Assert.Equal(OperatorIdentity.UnnamedKey, Assert.Single(await AuditRowsAsync(unnamed)).GetString("KeyName"));
        Assert.Equal(("erase", "ops-test"), Assert.Single(await http.AuditAsync(named)) is var n ? (n["action"]!.ToString(), n["keyName"]!.ToString()) : default);
        Assert.Equal(OperatorIdentity.UnnamedKey, Assert.Single(await http.AuditAsync(unnamed))["keyName"]!.ToString());

        var stub = await http.DetailAsync(named);
        Assert.True(stub["erased"]!.GetValue<bool>());
        Assert.Equal(("Withdrawn", null), (stub["status"]!.ToString(), stub["treatment"]?.ToString()));
        Assert.Empty(stub["routing"]!.AsArray());
        Assert.Equal("ops-test", Assert.Single(stub["audit"]!.AsArray())!["keyName"]!.ToString());
        var viewed = (await (await http.SendAsync(OperatorApi.Request(HttpMethod.Get, $"/api/ops/referrals/{named}?personal=true", reason: "Checking the erasure"))).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Null(viewed["personal"]);
    }

    [Fact]
    public async Task Replaying_or_discarding_a_parked_message_needs_a_reason_and_is_audited()
    {
        var replayed = await http.SubmitAsync(NewEmail("poison-replay"));
        var discarded = await http.SubmitAsync(NewEmail("poison-discard"));
        await http.StatusAsync(replayed, "Notified");
        await http.StatusAsync(discarded, "Notified");
        var poison = new QueueClient(fixture.Azurite.ConnectionString, StorageNames.NotificationPoisonQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await poison.SendReferralAsync(replayed, CancellationToken.None);
        await poison.SendReferralAsync(discarded, CancellationToken.None);
        async Task<JsonObject> ParkedAsync(string id) => (await Eventually.UntilAsync(
            async () => (await (await http.SendAsync(OperatorApi.Request(HttpMethod.Get, "/api/ops/poison"))).Content.ReadFromJsonAsync<JsonObject>())!["messages"]!.AsArray()
                .Select(m => m!.AsObject()).FirstOrDefault(m => m["referralId"]?.ToString() == id),
            m => m is not null, TimeSpan.FromSeconds(20), $"{id} to be parked"))!;
        var replay = await ParkedAsync(replayed);
        var discard = await ParkedAsync(discarded);
        await http.StatusAsync(replayed, "Failed");

        foreach (var body in new HttpContent?[] { null, new StringContent("{}", Encoding.UTF8, "application/json"), new StringContent("""{"reason":""}""", Encoding.UTF8, "application/json") })
        {
            var refused = await http.SendAsync(OperatorApi.Request(HttpMethod.Post, $"/api/ops/poison/{replay["queue"]}/{replay["id"]}/replay", body));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"/api/ops/poison/{discard["queue"]}/{discard["id"]}/discard", new { })).StatusCode);
        Assert.NotNull(await ParkedAsync(discarded)); // still parked

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/ops/poison/{replay["queue"]}/{replay["id"]}/replay", new { reason = "SendGrid is back" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/ops/poison/{discard["queue"]}/{discard["id"]}/discard", new { reason = "Duplicate of a handled message" })).StatusCode);

        var replayDetail = await http.StatusAsync(replayed, "Notified");
        Assert.Equal(("poison-replay", "ops-test", "SendGrid is back"), Assert.Single(replayDetail["audit"]!.AsArray()) is var r ? (r!["action"]!.ToString(), r["keyName"]!.ToString(), r["reason"]!.ToString()) : default);
        Assert.Contains(replayDetail["history"]!.AsArray(), h => h!["actor"]!.ToString() == "Operator");
        Assert.Equal($"queue={StorageNames.NotificationQueue}; message={discard["id"]}", Assert.Single(await http.AuditAsync(discarded))["detail"]!.ToString());
        Assert.Equal("poison-discard", Assert.Single(await AuditRowsAsync(discarded)).GetString("Action"));
        Assert.Equal("Failed", (await http.DetailAsync(discarded))["status"]!.ToString());
    }
}
