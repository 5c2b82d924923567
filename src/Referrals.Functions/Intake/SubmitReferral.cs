using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Referrals;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

/// <summary>
/// Accepts the interest form: validates, records the referral, queues it for routing and answers at once with the reference.
/// The 202 is only sent once the referral is both stored and queued.
/// </summary>
public sealed partial class SubmitReferral(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    [FromKeyedServices(StorageNames.IntakeQueue)] QueueClient intakeQueue,
    TimeProvider clock,
    ILogger<SubmitReferral> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Function(nameof(SubmitReferral))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "referrals")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ReferralSubmission? submission;
        try
        {
            submission = await JsonSerializer.DeserializeAsync<ReferralSubmission>(request.Body, Json, cancellationToken);
        }
        catch (JsonException)
        {
            return TypedResults.Problem(
                title: "The request body is not valid JSON.",
                detail: "Send a JSON object with name, email, state, treatment and consent.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        var outcome = ReferralValidator.Validate(submission ?? new ReferralSubmission(null, null, null, null, null));
        if (!outcome.IsValid)
        {
            return TypedResults.ValidationProblem(outcome.Errors, title: "Some fields need your attention.");
        }

        var valid = outcome.Referral!;
        var now = clock.GetUtcNow();
        var id = ReferralId.New();
        await referrals.AddNewAsync(
            new ReferralEntity
            {
                PartitionKey = id,
                Name = valid.Name,
                Email = valid.Email,
                State = valid.State,
                Treatment = valid.Treatment,
                ReceivedAt = now,
            },
            new StatusChange(ReferralStatus.Received, now, Actor.Visitor, "Submitted the interest form."),
            cancellationToken);
        await intakeQueue.SendMessageAsync(JsonSerializer.Serialize(new ReferralMessage(id), Json), cancellationToken);
        LogAccepted(id);

        var statusUrl = $"/api/referrals/{id}";
        return TypedResults.Accepted(statusUrl, new { id, status = nameof(ReferralStatus.Received), statusUrl });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} received and queued for routing")]
    private partial void LogAccepted(string referralId);
}
