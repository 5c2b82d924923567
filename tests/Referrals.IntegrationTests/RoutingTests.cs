using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions;
using Referrals.Functions.Intake;
using Referrals.Functions.Routing;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>Routing on Azurite: capacity under concurrency, the accept/decline loop, signed links, SLA and explanations.</summary>
[Collection(PipelineCollection.Name)]
public partial class RoutingTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private TableClient Table(string name) => new(fixture.Azurite.ConnectionString, name);

    private async Task<string> SubmitAsync(string state, string treatment, string? email = null)
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Robin Route", email = email ?? $"route-{Guid.NewGuid():N}@example.com", state, treatment,
            consent = true, privacyAcknowledged = true, adult = true, phone = "2125550123",
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
    }

    private Task<JsonObject?> StatusAsync(string id) => http.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id));

    private Task<JsonObject?> WaitForStatusAsync(string id, params string[] statuses) =>
        Eventually.UntilAsync(() => StatusAsync(id), s => statuses.Contains(s!["status"]!.ToString()), TimeSpan.FromSeconds(20), $"{id} to be {string.Join(" or ", statuses)}");

    private async Task<JsonObject> WaitForMailAsync(Func<JsonObject, bool> match, string what) =>
        (await Eventually.UntilAsync(
            async () => (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).FirstOrDefault(match),
            m => m is not null, TimeSpan.FromSeconds(20), what))!;

    private async Task<(string Url, string Specialist)> SpecialistLinkAsync(string id)
    {
        var mail = await WaitForMailAsync(m => m["subject"]!.ToString() == $"New referral {id}", $"the specialist email for {id}");
        return (RespondLink().Match(mail["text"]!.ToString()).Value, mail["to"]![0]!.ToString());
    }

    private async Task<HttpResponseMessage> AnswerAsync(string url, string decision, string? reason = null)
    {
        var token = Uri.UnescapeDataString(url[(url.IndexOf("t=", StringComparison.Ordinal) + 2)..]);
        var fields = new Dictionary<string, string> { ["t"] = token, ["decision"] = decision };
        if (reason is not null)
        {
            fields["reason"] = reason;
        }

        return await http.PostAsync("/api/specialist/respond", new FormUrlEncodedContent(fields));
    }

    [Fact]
    public async Task Concurrent_routing_never_offers_a_specialist_more_than_the_bound_or_the_capacity_left()
    {
        // Its own directory and load tables and its own week, so nothing else in the run touches these counts.
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var specialists = Table($"Spec{suffix}");
        var loads = Table($"Load{suffix}");
        var notifications = new QueueClient(fixture.Azurite.ConnectionString, $"notify-{suffix}", new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await Task.WhenAll(specialists.CreateAsync(), loads.CreateAsync(), notifications.CreateAsync());
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 3, 12, 9, 0, 0, TimeSpan.Zero));
        var directory = new SpecialistDirectory(specialists, loads, Options.Create(new DirectoryOptions()), clock);
        // cap-a has capacity for 2 this week, below the bound of 3; cap-b has capacity 5 and is held to the bound.
        await directory.ImportAsync("""
            id,name,practice,email,states,treatments,rems_certified,telehealth,in_person,accepting_new_patients,weekly_capacity,languages,insurance_networks,out_of_office,time_zone
            cap-a,Dr A,Clinic A,a@example.org,VT,iv-ketamine-infusion,false,true,true,true,2,en,,,America/New_York
            cap-b,Dr B,Clinic B,b@example.org,VT,iv-ketamine-infusion,false,true,true,true,5,en,,,America/New_York
            """, CancellationToken.None);
        var referrals = Table(StorageNames.ReferralsTable);
        var router = new ReferralRouter(referrals, new PipelineQueues(notifications, notifications, notifications, notifications), directory,
            Options.Create(new RoutingOptions { PublicBaseUrl = "http://localhost", OperatorsAddress = "ops@example.org", MaxOpenOffers = 3 }), clock, NullLogger<ReferralRouter>.Instance);
        var ids = Enumerable.Range(0, 12).Select(_ => ReferralId.New()).ToList();
        foreach (var id in ids)
        {
            await referrals.AddNewAsync(
                ReferralEntity.From(id, new ValidReferral("Cap Test", $"{id}@example.com", "VT", "iv-ketamine-infusion"), clock.GetUtcNow()),
                new StatusChange(ReferralStatus.Received, clock.GetUtcNow(), Actor.Visitor, "test"), CancellationToken.None);
        }

        await Task.WhenAll(ids.Select(async id =>
        {
            var referral = (await referrals.FindReferralAsync(id, CancellationToken.None))!;
            await router.RouteAsync(referral, referral.ToCase(), CancellationToken.None);
        }));

        var routed = new List<ReferralEntity>();
        foreach (var id in ids)
        {
            routed.Add((await referrals.FindReferralAsync(id, CancellationToken.None))!);
        }

        Assert.Equal(2, routed.Count(r => r.AssignedSpecialistId == "cap-a"));
        Assert.Equal(3, routed.Count(r => r.AssignedSpecialistId == "cap-b"));
        Assert.Equal(7, routed.Count(r => r.Status == nameof(ReferralStatus.NeedsTriage)));
        Assert.Equal(2, (await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "cap-a")).Value.Count);
        Assert.Equal(3, (await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "cap-b")).Value.Count);
        // Offers use no capacity: nothing is counted against the week until someone accepts.
        var week = Referrals.Core.Routing.Router.WeekOf(clock.GetUtcNow());
        Assert.False((await loads.GetEntityIfExistsAsync<SpecialistLoadEntity>(week, "cap-a")).HasValue);

        // cap-b accepts one and declines one: the accepted one moves to the week's count and both free their open slot,
        // so cap-b takes two more offers (bound 3, capacity left 4); cap-a stays full until it answers.
        await directory.AcceptOfferAsync("cap-b", clock.GetUtcNow(), CancellationToken.None);
        await directory.ReleaseOfferAsync("cap-b", CancellationToken.None);
        var more = Enumerable.Range(0, 4).Select(_ => ReferralId.New()).ToList();
        foreach (var id in more)
        {
            await referrals.AddNewAsync(
                ReferralEntity.From(id, new ValidReferral("Cap Test", $"{id}@example.com", "VT", "iv-ketamine-infusion"), clock.GetUtcNow()),
                new StatusChange(ReferralStatus.Received, clock.GetUtcNow(), Actor.Visitor, "test"), CancellationToken.None);
        }

        await Task.WhenAll(more.Select(async id =>
        {
            var referral = (await referrals.FindReferralAsync(id, CancellationToken.None))!;
            await router.RouteAsync(referral, referral.ToCase(), CancellationToken.None);
        }));
        var second = new List<ReferralEntity>();
        foreach (var id in more)
        {
            second.Add((await referrals.FindReferralAsync(id, CancellationToken.None))!);
        }

        Assert.Equal(2, second.Count(r => r.AssignedSpecialistId == "cap-b"));
        Assert.Equal(0, second.Count(r => r.AssignedSpecialistId == "cap-a"));
        Assert.Equal(1, (await loads.GetEntityAsync<SpecialistLoadEntity>(week, "cap-b")).Value.Accepted);
        Assert.Equal(3, (await loads.GetEntityAsync<OpenOffersEntity>(OpenOffersEntity.PartitionKeyValue, "cap-b")).Value.Count);
    }

    [Fact]
    public async Task A_specialist_accepts_through_the_signed_link_and_the_visitor_is_told_who_will_contact_them()
    {
        var email = $"accept-{Guid.NewGuid():N}@example.com";
        var id = await SubmitAsync("MA", "esketamine-nasal-spray", email);
        await WaitForStatusAsync(id, "Notified");
        var (url, specialist) = await SpecialistLinkAsync(id);
        Assert.Equal("sofia.rossi@example.org", specialist); // the only REMS-certified esketamine site in MA

        var page = await http.GetAsync(url);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Robin Route", html);
        Assert.Contains("+12125550123", html);
        Assert.Contains("Accept this referral", html);
        Assert.Equal("Notified", (await StatusAsync(id))!["status"]!.ToString()); // looking changes nothing

        var accepted = await AnswerAsync(url, "accept");
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Contains("accepted", await accepted.Content.ReadAsStringAsync());
        var status = await WaitForStatusAsync(id, "Accepted");
        Assert.Contains(status!["history"]!.AsArray(), h => h!["status"]!.ToString() == "Accepted" && h["actor"]!.ToString() == "Specialist");
        var visible = (await http.GetFromJsonAsync<JsonObject>($"/api/referrals/{id}"))!;
        Assert.Equal("accepted", visible["status"]!.ToString());
        Assert.True(visible["changedAt"]!.GetValue<DateTimeOffset>() > visible["receivedAt"]!.GetValue<DateTimeOffset>());
        Assert.DoesNotContain("sofia", visible.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        var told = await WaitForMailAsync(m => m["subject"]!.ToString() == $"A specialist will contact you ({id})", "the visitor's accepted email");
        Assert.Equal(email, told["to"]![0]!.ToString());
        Assert.Contains("Dr. Sofia Rossi", told["text"]!.ToString());

        var replay = await AnswerAsync(url, "accept");
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Contains("Already recorded", await replay.Content.ReadAsStringAsync());
        var declineAfterAccept = await AnswerAsync(url, "decline", "other");
        Assert.Contains("Already recorded", await declineAfterAccept.Content.ReadAsStringAsync());
        Assert.Equal("Accepted", (await StatusAsync(id))!["status"]!.ToString());
    }

    [Fact]
    public async Task A_decline_reroutes_to_the_next_best_match_and_too_many_go_to_triage()
    {
        // Three New York specialists offer consultations; the fixture allows two unanswered assignments.
        var id = await SubmitAsync("NY", "consultation");
        await WaitForStatusAsync(id, "Notified");
        var (first, firstSpecialist) = await SpecialistLinkAsync(id);

        var declined = await AnswerAsync(first, "decline", "no-capacity");
        Assert.Equal(HttpStatusCode.OK, declined.StatusCode);
        await WaitForStatusAsync(id, "Notified");
        var second = await WaitForMailAsync(m => m["subject"]!.ToString() == $"New referral {id}" && m["to"]![0]!.ToString() != firstSpecialist, "the second specialist's email");
        var secondUrl = RespondLink().Match(second["text"]!.ToString()).Value;

        var replay = await AnswerAsync(first, "accept");
        Assert.Contains("Already recorded", await replay.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await AnswerAsync(secondUrl, "decline", "not-a-fit")).StatusCode);
        var status = await WaitForStatusAsync(id, "NeedsTriage");
        var triage = await WaitForMailAsync(m => m["subject"]!.ToString() == $"Referral {id} needs triage", "the triage email");
        var triagePage = await http.GetStringAsync(TriageLink().Match(triage["text"]!.ToString()).Value);
        Assert.Contains("Robin Route", triagePage);
        Assert.DoesNotContain("consultation", triage["text"]!.ToString(), StringComparison.OrdinalIgnoreCase);

        // The triage link is bound to this triage: a link naming another assignment of the same referral shows nothing.
        var entity = (await Table(StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!;
        var staleTriage = await http.GetAsync(fixture.Host.Services.GetRequiredService<ReferralLinks>().TriageUrl(id, entity.Assignment - 1));
        Assert.Equal(HttpStatusCode.Conflict, staleTriage.StatusCode);
        Assert.DoesNotContain("Robin Route", await staleTriage.Content.ReadAsStringAsync());

        var explanation = await http.GetFromJsonAsync<JsonObject>($"/api/ops/referrals/{id}/routing?code={TestKeys.Host}");
        Assert.Equal(3, explanation!["decisions"]!.AsArray().Count);
        var firstId = explanation["decisions"]![0]!["chosenSpecialistId"]!.ToString();
        Assert.Contains(explanation["excludedSpecialists"]!.AsArray(), e => e!.ToString() == firstId);
        var secondDecision = explanation["decisions"]![1]!;
        Assert.Contains(secondDecision["excluded"]!.AsArray(), e => e!["SpecialistId"]!.ToString() == firstId && e["Rule"]!.ToString() == Referrals.Core.Routing.Router.AlreadyExcluded);
        Assert.Null(explanation["decisions"]![2]!["chosenSpecialistId"]);
        Assert.Contains(status!["history"]!.AsArray(), h => h!["reason"]!.ToString().Contains("Declined by", StringComparison.Ordinal));

        // Reasons and specialists are for operators and signed links; the public resource says "received".
        var visible = await http.GetStringAsync($"/api/referrals/{id}");
        Assert.Contains("\"status\":\"received\"", visible);
        Assert.DoesNotContain("Declined", visible);
        Assert.DoesNotContain(firstId, visible);
    }

    [Fact]
    public async Task Tampered_and_expired_links_get_a_clear_error_page_without_details()
    {
        var id = await SubmitAsync("CA", "oral-ketamine");
        await WaitForStatusAsync(id, "Notified");
        var (url, specialist) = await SpecialistLinkAsync(id);
        var tampered = url[..^3] + (url[^3] == 'a' ? "b" : "a") + url[^2..];

        var badResponse = await http.GetAsync(tampered);
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
        var bad = await badResponse.Content.ReadAsStringAsync();
        Assert.Contains("This link is not valid", bad);
        Assert.DoesNotContain("Robin Route", bad);
        Assert.Equal(HttpStatusCode.BadRequest, (await AnswerAsync(tampered, "accept")).StatusCode);

        var entity = (await Table(StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!;
        var pastClock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-8));
        var oldLinks = new ReferralLinks(
            Options.Create(new LinkOptions { PublicBaseUrl = fixture.Host.BaseAddress.ToString(), LinkLifetime = TimeSpan.FromDays(7) }),
            fixture.Host.Services.GetRequiredService<SignedLinks>(), pastClock);
        var expired = oldLinks.RespondUrl(id, entity.AssignedSpecialistId!, entity.Assignment);

        var expiredResponse = await http.GetAsync(expired);
        Assert.Equal(HttpStatusCode.Gone, expiredResponse.StatusCode);
        Assert.DoesNotContain("Robin Route", await expiredResponse.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Gone, (await AnswerAsync(expired, "accept")).StatusCode);
        Assert.Equal("Notified", (await StatusAsync(id))!["status"]!.ToString());
    }

    [Fact]
    public async Task Silence_gets_one_reminder_and_then_a_reroute_with_an_operator_alert()
    {
        var id = await SubmitAsync("IL", "oral-ketamine");
        await WaitForStatusAsync(id, "Notified");
        var (_, silent) = await SpecialistLinkAsync(id);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var services = fixture.Host.Services;
        var routing = services.GetRequiredService<IOptions<RoutingOptions>>();
        var router = new ReferralRouter(Table(StorageNames.ReferralsTable), services.GetRequiredService<PipelineQueues>(),
            services.GetRequiredService<SpecialistDirectory>(), routing, clock, NullLogger<ReferralRouter>.Instance);
        var monitor = new SlaMonitor(Table(StorageNames.ReferralsTable), services.GetRequiredService<PipelineQueues>(),
            router, routing, clock, NullLogger<SlaMonitor>.Instance);

        clock.Advance(TimeSpan.FromHours(47));
        await monitor.CheckAsync(CancellationToken.None);
        Assert.Equal(0, (await Table(StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!.ReminderForAssignment);

        clock.Advance(TimeSpan.FromHours(2));
        Assert.True((await monitor.CheckAsync(CancellationToken.None)).Reminded >= 1);
        await WaitForMailAsync(m => m["subject"]!.ToString() == $"Reminder: referral {id}" && m["to"]![0]!.ToString() == silent, "the reminder");
        await monitor.CheckAsync(CancellationToken.None); // a second run sends no second reminder

        clock.Advance(TimeSpan.FromHours(48));
        Assert.True((await monitor.CheckAsync(CancellationToken.None)).Rerouted >= 1);
        var alert = await WaitForMailAsync(m => m["subject"]!.ToString() == $"Referral {id}: no answer from {SpecialistIdOf(silent)}", "the operator alert");
        Assert.Equal("operators@clinic.test", alert["to"]![0]!.ToString());
        var entity = (await Table(StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!;
        Assert.Contains(SpecialistIdOf(silent), entity.ExcludedIds);
        Assert.NotEqual(SpecialistIdOf(silent), entity.AssignedSpecialistId);
        var mails = (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!;
        Assert.Single(mails, m => m!["subject"]!.ToString() == $"Reminder: referral {id}");
    }

    [Fact]
    public async Task A_bad_directory_upload_is_refused_whole_with_every_bad_line()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/ops/specialists/sync")
        {
            Content = new StringContent("""
                id,name,practice,email,states,treatments,rems_certified,telehealth,in_person,accepting_new_patients,weekly_capacity,languages,insurance_networks,out_of_office,time_zone
                sp-001,Dr. Changed,Clinic,changed@example.org,NY,consultation,false,true,true,true,6,en,,,America/New_York
                sp-bad,Dr. Bad,Clinic,bad@example.org,ZZ,consultation,false,true,true,true,6,en,,,America/New_York
                """, System.Text.Encoding.UTF8, "text/csv"),
        };
        request.Headers.Add("x-functions-key", TestKeys.Master);

        var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("line 3: unknown state 'ZZ'", Assert.Single(problem!["lines"]!.AsArray())!.ToString());
        var unchanged = await fixture.Host.Services.GetRequiredService<SpecialistDirectory>().FindAsync("sp-001", CancellationToken.None);
        Assert.Equal("amara.okafor@example.org", unchanged!.Email);
    }

    private static string SpecialistIdOf(string email) => email switch
    {
        "kwame.mensah@example.org" => "sp-007",
        _ => throw new InvalidOperationException($"Unexpected specialist {email} for IL oral ketamine"),
    };

    [GeneratedRegex(@"http\S+/api/specialist/respond\?t=\S+")]
    private static partial Regex RespondLink();

    [GeneratedRegex(@"http\S+/api/triage/referral\?t=\S+")]
    private static partial Regex TriageLink();
}
