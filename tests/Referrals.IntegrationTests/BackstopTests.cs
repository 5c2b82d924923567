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

    /// <summary>The real notification queue, except that a send visible at once fails after the move was saved.</summary>
    private sealed class ImmediateSendsFail(string connectionString, string name)
        : QueueClient(connectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })
    {
        public int Failed { get; private set; }

        public override Task<Response<SendReceipt>> SendMessageAsync(string messageText, TimeSpan? visibilityTimeout = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        {
            if (visibilityTimeout is null or { Ticks: 0 })
            {
                Failed++;
                throw new RequestFailedException(503, "Storage went away just after the move was saved (test).");
            }

            return base.SendMessageAsync(messageText, visibilityTimeout, timeToLive, cancellationToken);
        }
    }

    private (PipelineQueues Queues, ImmediateSendsFail Ordinary, ImmediateSendsFail Urgent) QueuesThatLoseTheUsualMessage()
    {
        var real = Services.GetRequiredService<PipelineQueues>();
        var (ordinary, urgent) = (new ImmediateSendsFail(fixture.Azurite.ConnectionString, StorageNames.NotificationQueue),
            new ImmediateSendsFail(fixture.Azurite.ConnectionString, StorageNames.UrgentNotificationQueue));
        return (new PipelineQueues(real.Intake(urgent: false), real.Intake(urgent: true), ordinary, urgent, email: Services.GetRequiredService<IOptions<EmailOptions>>()), ordinary, urgent);
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
    public async Task An_acceptance_whose_emails_were_never_queued_still_tells_the_visitor_once_through_the_held_back_message()
    {
        var id = await OfferedReferralAsync();
        var offered = await ReferralAsync(id);
        var token = System.Web.HttpUtility.ParseQueryString(new Uri(Services.GetRequiredService<ReferralLinks>()
            .RespondUrl(id, offered.AssignedSpecialistId!, offered.Assignment)).Query)["t"]!;
        var (queues, ordinary, _) = QueuesThatLoseTheUsualMessage();
        var respond = ActivatorUtilities.CreateInstance<SpecialistResponse>(Services, queues);

        var answer = await respond.Run(AnswerPost(token, "accept"), CancellationToken.None);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsAssignableFrom<IStatusCodeHttpResult>(answer).StatusCode);
        Assert.Equal(1, ordinary.Failed); // the usual message was lost after the save
        Assert.Equal(nameof(ReferralStatus.Accepted), (await ReferralAsync(id)).Status);
        var subject = $"A specialist will contact you ({id})";
        await Eventually.UntilAsync(() => MailsAsync(subject), m => m.Count > 0, TimeSpan.FromSeconds(30), "the visitor's acceptance email, from the held-back message");

        Assert.Single(await MailsAsync(subject));
    }

    [Fact]
    public async Task A_decline_whose_next_emails_were_never_queued_still_routes_them_through_the_held_back_message()
    {
        var id = await OfferedReferralAsync();
        var offered = await ReferralAsync(id);
        var token = System.Web.HttpUtility.ParseQueryString(new Uri(Services.GetRequiredService<ReferralLinks>()
            .RespondUrl(id, offered.AssignedSpecialistId!, offered.Assignment)).Query)["t"]!;
        var (queues, ordinary, _) = QueuesThatLoseTheUsualMessage();
        var router = ActivatorUtilities.CreateInstance<ReferralRouter>(Services, queues);
        var respond = ActivatorUtilities.CreateInstance<SpecialistResponse>(Services, queues, router);

        var answer = await respond.Run(AnswerPost(token, "decline"), CancellationToken.None);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsAssignableFrom<IStatusCodeHttpResult>(answer).StatusCode);
        Assert.Equal(1, ordinary.Failed);
        var moved = await ReferralAsync(id);
        Assert.Contains(offered.AssignedSpecialistId!, moved.ExcludedIds);
        // Offered to the next specialist (a second offer email), or sent to triage: either way it is announced.
        var (subject, count) = moved.Status == nameof(ReferralStatus.NeedsTriage) ? ($"Referral {id} needs triage", 1) : ($"New referral {id}", 2);
        await Eventually.UntilAsync(() => MailsAsync(subject), m => m.Count == count, TimeSpan.FromSeconds(30), $"the {moved.Status} email, from the held-back message");
    }
}
