using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Core.Referrals;
using Referrals.Core.Security;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Intake;

public enum IntakeResult
{
    /// <summary>Answer with <see cref="IntakeOutcome.ReferralId"/>: new, a repeat's stub, or a replay of the same request.</summary>
    Accepted,

    /// <summary>The client's key (or form stamp) was used before for another submission.</summary>
    KeyReused,

    /// <summary>Stored but not queued: the reconciler queues it; the client's retry with the same key is answered with it.</summary>
    NotQueued,
}

public sealed record IntakeOutcome(IntakeResult Result, string? ReferralId = null);

/// <summary>
/// Records a validated submission. The referral is stored first and its claims (idempotency key, dedupe) are written
/// after, so a claim never names a referral that was not stored: a crash at any point leaves either a stored referral
/// that the reconciler completes and routes, or nothing that any answer named. A repeat of a live referral becomes a
/// stub without personal data, and the sender is answered with the stub's reference exactly as for a new referral,
/// while the live referral's owner is emailed instead.
/// </summary>
public sealed partial class IntakeService(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    PipelineQueues queues,
    IntakeMetrics metrics,
    IntakeGuards guards,
    KeyedHash hash,
    IOptions<IntakeOptions> options,
    TimeProvider clock,
    ILogger<IntakeService> logger)
{
    /// <param name="clientHash">The keyed hash of the client's address: an idempotency key is scoped to it.</param>
    /// <param name="idempotencyKey">The client's Idempotency-Key, or the form stamp's id; null for none.</param>
    /// <param name="mayConfirm">False once the address had its confirmations for the day (<see cref="IntakeGuards.MayConfirm"/>).</param>
    public async Task<IntakeOutcome> SubmitAsync(ValidReferral valid, string clientHash, string? idempotencyKey, bool mayConfirm, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var referral = ReferralEntity.From(ReferralId.New(), valid, now);
        referral.ConfirmationCapped = !mayConfirm;
        var submission = IntakeKeys.Submission(hash, referral);
        var idempotency = idempotencyKey is null ? null : IntakeKeys.Idempotency(hash, clientHash, idempotencyKey);
        referral.GuardKeys = IntakeKeys.Join(IntakeKeys.Dedupe(hash, referral), idempotency, IntakeKeys.EmailLimit(hash, referral.Email));

        IntakeGuards.Claim? stale = null;
        if (idempotency is not null && await guards.FindClaimAsync(idempotency, cancellationToken) is { } held)
        {
            if (held.SubmissionHash != submission)
            {
                return new IntakeOutcome(IntakeResult.KeyReused);
            }

            if (await referrals.FindReferralAsync(held.ReferralId, cancellationToken) is not null)
            {
                LogReplayed(held.ReferralId);
                return new IntakeOutcome(IntakeResult.Accepted, held.ReferralId);
            }

            stale = held; // it names a referral that is gone: this request takes the key over
        }

        await referrals.AddNewAsync(referral, new StatusChange(ReferralStatus.Received, now, Actor.Visitor, "Submitted the interest form."), cancellationToken);
        var claimed = await ClaimAsync(referral, idempotency, submission, stale, cancellationToken);
        try
        {
            switch (claimed.Kind)
            {
                case ClaimKind.SameRequest:
                    // A concurrent copy of this request (a double click) stored its referral and claimed the key first.
                    await StubAsync(referral, claimed.HolderId!, keepGuardKey: null, cancellationToken);
                    return new IntakeOutcome(IntakeResult.Accepted, claimed.HolderId);
                case ClaimKind.OtherRequest:
                    await StubAsync(referral, claimed.HolderId!, keepGuardKey: null, cancellationToken);
                    return new IntakeOutcome(IntakeResult.KeyReused);
                case ClaimKind.Repeat:
                    // The notice first: a crash before the stub leaves a Received row that the reconciler stubs silently.
                    await queues.Notifications(urgent: false).SendDuplicateNoticeAsync(claimed.HolderId!, referral.PartitionKey, capped: !mayConfirm, cancellationToken);
                    await StubAsync(referral, claimed.HolderId!, keepGuardKey: idempotency, cancellationToken);
                    LogRepeat(referral.PartitionKey, claimed.HolderId!);
                    return new IntakeOutcome(IntakeResult.Accepted, referral.PartitionKey);
                default:
                    await queues.RouteAsync(referral.PartitionKey, referral.Urgent, cancellationToken);
                    LogAccepted(referral.PartitionKey);
                    metrics.Accepted(referral.Urgent);
                    return new IntakeOutcome(IntakeResult.Accepted, referral.PartitionKey);
            }
        }
        catch (RequestFailedException e)
        {
            // Stored and claimed but not finished: the reconciler completes it; a retry with the same key is answered with it.
            LogNotFinished(e, referral.PartitionKey);
            return new IntakeOutcome(IntakeResult.NotQueued, referral.PartitionKey);
        }
    }

    /// <summary>
    /// For the reconciler: completes the claims of a referral left Received (its request died, or its message was
    /// lost). True when it should be queued for routing; otherwise it was the orphan of a request that a later attempt
    /// completed, or a repeat, and is now a stub (silently: the request that would have told the owner never finished).
    /// </summary>
    public async Task<bool> CompleteAsync(ReferralEntity referral, CancellationToken cancellationToken)
    {
        if (referral.GuardKeys is null)
        {
            return true; // stored before claims followed the referral: nothing to complete
        }

        var claimed = await ClaimAsync(referral, IntakeKeys.Find(referral.GuardKeys, IntakeKeys.IdempotencyPrefix),
            IntakeKeys.Submission(hash, referral), stale: null, cancellationToken);
        if (claimed.Kind == ClaimKind.Ours)
        {
            return true;
        }

        await StubAsync(referral, claimed.HolderId!, keepGuardKey: null, cancellationToken);
        LogOrphan(referral.PartitionKey, claimed.HolderId!);
        return false;
    }

    private enum ClaimKind
    {
        Ours,
        SameRequest,
        OtherRequest,
        Repeat,
    }

    private sealed record Claimed(ClaimKind Kind, string? HolderId = null);

    /// <summary>
    /// Claims the idempotency key (if any), then "this email asked about this treatment". Idempotent: a claim that
    /// already names this referral is ours. A claim naming a referral that is gone, withdrawn, a stub, or (for dedupe)
    /// outside the window is taken over with its ETag.
    /// </summary>
    private async Task<Claimed> ClaimAsync(ReferralEntity referral, string? idempotency, string submission, IntakeGuards.Claim? stale, CancellationToken cancellationToken)
    {
        var id = referral.PartitionKey;
        if (idempotency is not null)
        {
            var replacing = stale;
            while (await guards.TryClaimAsync(idempotency, id, submission, referral.ReceivedAt, replacing, cancellationToken) is { } held && held.ReferralId != id)
            {
                if (held.SubmissionHash != submission)
                {
                    return new Claimed(ClaimKind.OtherRequest, held.ReferralId);
                }

                if (await referrals.FindReferralAsync(held.ReferralId, cancellationToken) is not null)
                {
                    return new Claimed(ClaimKind.SameRequest, held.ReferralId);
                }

                replacing = held;
            }
        }

        var dedupe = IntakeKeys.Dedupe(hash, referral);
        IntakeGuards.Claim? expired = null;
        while (await guards.TryClaimAsync(dedupe, id, null, referral.ReceivedAt, expired, cancellationToken) is { } held && held.ReferralId != id)
        {
            if (held.ClaimedAt > referral.ReceivedAt - options.Value.DedupeWindow
                && await referrals.FindReferralAsync(held.ReferralId, cancellationToken) is { } owner
                && owner.CurrentStatus is not (ReferralStatus.Withdrawn or ReferralStatus.Duplicate))
            {
                return new Claimed(ClaimKind.Repeat, owner.PartitionKey);
            }

            expired = held;
        }

        return new Claimed(ClaimKind.Ours);
    }

    /// <summary>Keeps the reference (it was or may be answered) but nothing the sender told us.</summary>
    private async Task StubAsync(ReferralEntity referral, string duplicateOf, string? keepGuardKey, CancellationToken cancellationToken)
    {
        var stub = referral.ToCase();
        stub.MarkDuplicate(duplicateOf, clock.GetUtcNow());
        referral.Name = "";
        referral.Email = "";
        referral.Phone = null;
        referral.State = "";
        referral.Treatment = "";
        referral.ContactMethod = nameof(ContactMethod.Email);
        referral.Insurance = null;
        referral.Message = null;
        referral.Topic = null;
        referral.SourcePost = null;
        referral.Utm = null;
        referral.Language = null;
        referral.VisitPreference = nameof(VisitPreference.Either);
        // Only the idempotency claim that names the stub stays listed, so erasure and retention still find it.
        referral.GuardKeys = keepGuardKey;
        await referrals.SaveAsync(referral, stub, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} received and queued for routing")]
    private partial void LogAccepted(string referralId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} is a repeat of {OwnerId}: kept as a stub; the owner is told")]
    private partial void LogRepeat(string referralId, string ownerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Repeated request answered again with referral {ReferralId}")]
    private partial void LogReplayed(string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId} was left unfinished by its request and repeats {OwnerId}: kept as a stub")]
    private partial void LogOrphan(string referralId, string ownerId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Referral {ReferralId} was stored but not finished; the reconciler will finish it")]
    private partial void LogNotFinished(Exception exception, string referralId);
}
