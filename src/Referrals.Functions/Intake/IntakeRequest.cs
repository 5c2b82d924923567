using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Core.Security;

namespace Referrals.Functions.Intake;

/// <summary>
/// One submission through intake's checks, in order: spam (honeypot, forged stamp), validation, the form's timing,
/// the per-connection and per-email limits, then <see cref="IntakeService"/> records it. Knows nothing of HTTP.
/// </summary>
public sealed partial class IntakeRequest(
    IntakeService intake,
    IntakeGuards guards,
    FormStamp stamps,
    KeyedHash hash,
    IOptions<IntakeOptions> options,
    TimeProvider clock,
    ILogger<IntakeRequest> logger)
{
    /// <summary>How long a client whose referral was stored but not queued waits before sending again.</summary>
    public static readonly TimeSpan NotQueuedRetryAfter = TimeSpan.FromSeconds(30);

    /// <param name="fromForm">A form post: it must carry a stamp. A JSON client may send one, and is then held to it.</param>
    /// <param name="clientRateKey">The client's address as rate limits count it (Web.ClientAddress.RateKey).</param>
    /// <param name="idempotencyKey">The client's Idempotency-Key header, if any; a form's stamp id stands in for it.</param>
    public async Task<IntakeAnswer> HandleAsync(ReferralSubmission posted, bool fromForm, string clientRateKey, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stamp = posted.Stamp is null && !fromForm ? null : stamps.Check(posted.Stamp, now, options.Value.MinimumFillTime, options.Value.StampLifetime);
        if (!string.IsNullOrEmpty(posted.Website) || stamp?.Check == StampCheck.Invalid)
        {
            // Only a filled honeypot or a forged stamp: look like success to the sender; nothing is stored, routed or emailed.
            var spamReason = stamp?.Check == StampCheck.Invalid ? "bad-stamp" : "honeypot";
            await guards.CountSpamAsync(spamReason, cancellationToken);
            LogSpam(spamReason);
            return new IntakeAnswer(IntakeAnswerKind.Spam, ReferralId.New());
        }

        var outcome = ReferralValidator.Validate(posted);
        if (!outcome.IsValid)
        {
            return new IntakeAnswer(IntakeAnswerKind.Invalid, Errors: outcome.Errors);
        }

        if (stamp?.Check is StampCheck.TooFast or StampCheck.Expired)
        {
            // A person (autofill and a quick tap, or a form left open): never dropped, asked to send again.
            LogSendAgain(stamp.Check);
            return new IntakeAnswer(IntakeAnswerKind.SendAgain);
        }

        var clientHash = hash.Of("client", clientRateKey);
        var rate = await guards.CountSubmissionAsync(clientHash, cancellationToken);
        if (!rate.Allowed)
        {
            return new IntakeAnswer(IntakeAnswerKind.TooManyFromClient, RetryAfter: rate.RetryAfter);
        }

        var valid = outcome.Referral!;
        var perEmail = await guards.CountEmailSubmissionAsync(IntakeKeys.EmailLimit(hash, valid.Email), cancellationToken);
        if (!perEmail.Allowed)
        {
            return new IntakeAnswer(IntakeAnswerKind.TooManyForEmail, RetryAfter: perEmail.RetryAfter,
                Errors: new Dictionary<string, string[]> { [ReferralFields.Email] = [IntakeGuards.EmailLimitMessage] });
        }

        // A form's stamp is bound to one submission: its id is the idempotency key (double clicks, the back button).
        var key = idempotencyKey is { Length: > 0 } ? idempotencyKey : stamp?.Id is { } stampId ? "stamp:" + stampId : null;
        var result = await intake.SubmitAsync(valid, clientHash, key, guards.MayConfirm(perEmail.Count), cancellationToken);
        return result.Result switch
        {
            IntakeResult.Accepted => new IntakeAnswer(IntakeAnswerKind.Accepted, result.ReferralId, Urgent: valid.Urgent),
            IntakeResult.KeyReused => new IntakeAnswer(IntakeAnswerKind.KeyReused),
            _ => new IntakeAnswer(IntakeAnswerKind.NotQueued, result.ReferralId, RetryAfter: NotQueuedRetryAfter),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission dropped as spam ({Reason})")]
    private partial void LogSpam(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Form sent back to be sent again ({Check})")]
    private partial void LogSendAgain(StampCheck check);
}
