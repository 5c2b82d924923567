using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Referrals.Core.Referrals;
using Referrals.Functions;
using Referrals.Functions.Operations;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Routing;
using Referrals.Functions.Security;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// A move made outside a queue trigger has no message to come back if the process dies after the move is saved and
/// before its emails are queued. Here that moment is made to happen: the usual (visible at once) notification send
/// fails, as storage going away would make it, and the held-back message queued before the save still sends the
/// emails, once.
/// </summary>
[Collection(PipelineCollection.Name)]
public class BackstopTests(PipelineFixture fixture)
{
    private readonly HttpClient http = fixture.Http;

    private IServiceProvider Services => fixture.Host.Services;

    /// <summary>
    /// The real notification queue, except that a send of <paramref name="referralId"/>'s emails visible at once fails,
    /// as storage going away just after the move was saved would make it. Other referrals' sends go through.
    /// </summary>
    private sealed class ImmediateSendsFail(string connectionString, string name, string referralId)
        : QueueClient(connectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
    {
        public int Failed { get; private set; }

        public override Task<Response<SendReceipt>> SendMessageAsync(string messageText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        {
            if (visibilityTimeout is null or { Ticks: 0 } && messageText.Contains(referralId, StringComparison.Ordinal))
            {
                Failed++;
                throw new RequestFailedException(503, "Storage went away just after the move was saved (test).");
            }

            return base.SendMessageAsync(messageText, visibilityTimeout, timeToLive, cancellationToken);
        }
    }

    private (PipelineQueues Queues, ImmediateSendsFail Ordinary) QueuesThatLoseTheUsualMessage(string referralId)
    {
        var real = Services.GetRequiredService<PipelineQueues>();
        var (ordinary, urgent) = (new ImmediateSendsFail(fixture.Azurite.ConnectionString, StorageNames.NotificationQueue, referralId),
            new ImmediateSendsFail(fixture.Azurite.ConnectionString, StorageNames.UrgentNotificationQueue, referralId));
        return (new PipelineQueues(real.Intake(urgent: false), real.Intake(urgent: true), ordinary, urgent, email: Services.GetRequiredService<IOptions<EmailOptions>>()), ordinary);
    }

    private string RespondToken(ReferralEntity offered) =>
        System.Web.HttpUtility.ParseQueryString(new Uri(Services.GetRequiredService<ReferralLinks>()
            .RespondUrl(offered.PartitionKey, offered.AssignedSpecialistId!, offered.Assignment)).Query)["t"]!;

    private static HttpRequest OperatorPost(object body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body));
        return context.Request;
    }

    /// <summary>Offered to the next specialist (a second offer email), or sent to triage: either way it is announced.</summary>
    private async Task AnnouncedAgainAsync(string id)
    {
        var moved = await ReferralAsync(id);
        var (subject, count) = moved.Status == nameof(ReferralStatus.NeedsTriage) ? ($"Referral {id} needs triage", 1) : ($"New referral {id}", 2);
        await Eventually.UntilAsync(() => MailsAsync(subject), m => m.Count == count, TimeSpan.FromSeconds(30), $"the {moved.Status} email, from the held-back message");
    }

    private async Task<string> OfferedReferralAsync()
    {
        var response = await http.PostAsJsonAsync("/api/referrals", new
        {
            name = "Bea Backstop", email = $"backstop-{Guid.NewGuid():N}@example.com", state = "NY", treatment = "consultation",
            consent = true, privacyAcknowledged = true, adult = true,
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
        await Eventually.UntilAsync(() => ReferralAsync(id), r => r.Status == nameof(ReferralStatus.Notified), TimeSpan.FromSeconds(30), $"{id} to be offered");
        return id;
    }

    private async Task<ReferralEntity> ReferralAsync(string id) =>
        (await new TableClient(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable).FindReferralAsync(id, CancellationToken.None))!;

    private async Task<List<JsonObject>> MailsAsync(string subject) =>
        [.. (await http.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Select(m => m!.AsObject()).Where(m => m["subject"]!.ToString() == subject)];

    private static HttpRequest AnswerPost(string token, string decision)
    {
        var context = new DefaultHttpContext();
        var body = new FormUrlEncodedContent(new Dictionary<string, string> { ["t"] = token, ["decision"] = decision, ["reason"] = "not-a-fit" });
        context.Request.Method = HttpMethods.Post;
        context.Request.ContentType = body.Headers.ContentType!.ToString();
        context.Request.Body = body.ReadAsStream();
        return context.Request;
    }

    [Fact]
    public async Task An_acceptance_whose_emails_were_never_queued_still_tells_the_visitor_through_the_held_back_message()
    {
        var offered = await ReferralAsync(await OfferedReferralAsync());
        var id = offered.PartitionKey;
        var (queues, ordinary) = QueuesThatLoseTheUsualMessage(id);
        var respond = ActivatorUtilities.CreateInstance<SpecialistResponse>(Services, queues);

        var answer = await respond.Run(AnswerPost(RespondToken(offered), "accept"), CancellationToken.None);

        // The answer is recorded, so the specialist is thanked; the emails are left to the held-back message.
        Assert.Equal(StatusCodes.Status200OK, Assert.IsAssignableFrom<IStatusCodeHttpResult>(answer).StatusCode);
        Assert.Equal(1, ordinary.Failed);
        Assert.Equal(nameof(ReferralStatus.Accepted), (await ReferralAsync(id)).Status);
        await Eventually.UntilAsync(() => MailsAsync($"A specialist will contact you ({id})"), m => m.Count > 0, TimeSpan.FromSeconds(30),
            "the visitor's acceptance email, from the held-back message");
    }

    [Fact]
    public async Task A_decline_whose_next_emails_were_never_queued_still_announces_them_through_the_held_back_message()
    {
        var offered = await ReferralAsync(await OfferedReferralAsync());
        var id = offered.PartitionKey;
        var (queues, ordinary) = QueuesThatLoseTheUsualMessage(id);
        var router = ActivatorUtilities.CreateInstance<ReferralRouter>(Services, queues);
        var respond = ActivatorUtilities.CreateInstance<SpecialistResponse>(Services, queues, router);

        var answer = await respond.Run(AnswerPost(RespondToken(offered), "decline"), CancellationToken.None);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsAssignableFrom<IStatusCodeHttpResult>(answer).StatusCode);
        Assert.Equal(1, ordinary.Failed);
        Assert.Contains(offered.AssignedSpecialistId!, (await ReferralAsync(id)).ExcludedIds);
        await AnnouncedAgainAsync(id);
    }

    [Fact]
    public async Task An_operators_assignment_whose_offer_was_never_queued_still_reaches_the_specialist_through_the_held_back_message()
    {
        // Waiting in triage, and never queued: only this test moves it.
        var referrals = Services.GetRequiredKeyedService<TableClient>(StorageNames.ReferralsTable);
        var id = ReferralId.New();
        var now = DateTimeOffset.UtcNow;
        await referrals.AddNewAsync(ReferralEntity.From(id, new ValidReferral("Tia Triage", $"backstop-{Guid.NewGuid():N}@example.com", "NY", "consultation"), now),
            new StatusChange(ReferralStatus.Received, now, Actor.Visitor, "test"), CancellationToken.None);
        var stored = (await referrals.FindReferralAsync(id, CancellationToken.None))!;
        var triage = stored.ToCase();
        triage.SendToTriage(now, "test: nobody matched");
        await referrals.SaveAsync(stored, triage, CancellationToken.None);
        var (queues, ordinary) = QueuesThatLoseTheUsualMessage(id);
        var assign = ActivatorUtilities.CreateInstance<AssignReferral>(Services, queues);

        var answer = await assign.Run(OperatorPost(new { reason = "test: assigned by hand", specialistId = "sp-013" }), id, CancellationToken.None);

        Assert.Equal(StatusCodes.Status200OK, Assert.IsAssignableFrom<IStatusCodeHttpResult>(answer).StatusCode);
        Assert.Equal(1, ordinary.Failed);
        Assert.Equal(("sp-013", nameof(ReferralStatus.Routed)), ((await ReferralAsync(id)).AssignedSpecialistId, (await ReferralAsync(id)).Status));
        // The action went on past the failed send: the day's audit log has it.
        var audit = new TableClient(fixture.Azurite.ConnectionString, StorageNames.OperatorAuditTable);
        var logged = audit.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {OperatorAudit.DayKey(now)} and ReferralId eq {id}"));
        Assert.Contains(await logged.ToListAsync(), r => r.GetString("Action") == AssignReferral.Action);
        await Eventually.UntilAsync(() => MailsAsync($"New referral {id}"), m => m.Count > 0, TimeSpan.FromSeconds(30), "the specialist's offer, from the held-back message");
    }

    [Fact]
    public async Task An_operators_reroute_whose_next_emails_were_never_queued_still_announces_them_through_the_held_back_message()
    {
        var id = await OfferedReferralAsync();
        var offered = await ReferralAsync(id);
        var (queues, ordinary) = QueuesThatLoseTheUsualMessage(id);
        var router = ActivatorUtilities.CreateInstance<ReferralRouter>(Services, queues);
        var reroute = ActivatorUtilities.CreateInstance<RerouteReferral>(Services, queues, router);

        // Routing's own send fails after the save: the operator sees the failure, and the move stands.
        await Assert.ThrowsAsync<RequestFailedException>(() => reroute.Run(OperatorPost(new { reason = "test: route it again" }), id, CancellationToken.None));

        Assert.Equal(1, ordinary.Failed);
        Assert.Contains(offered.AssignedSpecialistId!, (await ReferralAsync(id)).ExcludedIds);
        await AnnouncedAgainAsync(id);
    }

    [Fact]
    public async Task An_SLA_reminder_whose_email_was_never_queued_still_reaches_the_specialist_through_the_held_back_message()
    {
        var offered = await ReferralAsync(await OfferedReferralAsync());
        var id = offered.PartitionKey;
        var (queues, ordinary) = QueuesThatLoseTheUsualMessage(id);
        var routing = Services.GetRequiredService<IOptions<RoutingOptions>>();
        // Past this referral's reminder, short of its timeout (the monitor reminds every referral then due, as on its timer).
        var clock = new FakeTimeProvider(offered.AssignedAt!.Value + routing.Value.ReminderAfter + TimeSpan.FromMinutes(1));
        var router = ActivatorUtilities.CreateInstance<ReferralRouter>(Services, queues, (TimeProvider)clock);
        var monitor = ActivatorUtilities.CreateInstance<SlaMonitor>(Services, queues, router, (TimeProvider)clock);

        await monitor.CheckAsync(CancellationToken.None);

        Assert.Equal(1, ordinary.Failed);
        Assert.Equal(offered.Assignment, (await ReferralAsync(id)).ReminderForAssignment);
        await Eventually.UntilAsync(() => MailsAsync($"Reminder: referral {id}"), m => m.Count > 0, TimeSpan.FromSeconds(30), "the specialist's reminder, from the held-back message");
    }
}
