using Azure.Data.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Referrals.Core.Email;
using Referrals.Core.Referrals;
using Referrals.Functions.Notifications;
using Referrals.Functions.Operations.Audit;
using Referrals.Functions.Privacy;
using Referrals.Functions.Storage;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// For operators: send one email of a referral again (say, the address bounced and has been put right). Only a kind the
/// referral's state calls for now, and only once the original has gone. The resend is a new email to the ledger: a
/// <see cref="EmailLedgerEntity.Requested"/> row under the original's key plus a resend number, written with the audit
/// row against the referral's ETag, so no retry of the notification sends it twice and no erasure is written behind.
/// A resend of a visitor's email also clears the unreachable mark: a new bounce sets it again.
/// </summary>
public sealed partial class ResendEmail(
    [FromKeyedServices(StorageNames.ReferralsTable)] TableClient referrals,
    EmailLedger ledger,
    EmailsCalledFor calledFor,
    PipelineQueues queues,
    OperatorAudit audit,
    OperatorIdentity identity,
    TimeProvider clock,
    ILogger<ResendEmail> logger)
{
    public const string Action = "resend";
    private const int MaxAttempts = 5;

    [Function(nameof(ResendEmail))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "ops/referrals/{id}/resend")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        var body = await OperatorRequest.BodyAsync(request, cancellationToken);
        if (OperatorRequest.Reason(body) is not { } reason)
        {
            return OperatorRequest.ReasonRequired();
        }

        if (body!["kind"]?.GetValueKind() != System.Text.Json.JsonValueKind.String
            || EmailKinds.All.FirstOrDefault(k => k.Kind.ToString() == body["kind"]!.GetValue<string>()) is not { } kind)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "Unknown email kind.", $"One of: {string.Join(", ", EmailKinds.All.Select(k => k.Kind))}.");
        }

        if (!ReferralId.IsWellFormed(id))
        {
            return Problems.NotFound("No referral has this reference.");
        }

        for (var attempt = 1; ; attempt++)
        {
            var partition = await ledger.ReadAsync(id, cancellationToken);
            if (partition.Referral is not { } referral)
            {
                return Problems.NotFound("No referral has this reference.");
            }

            if (referral.IsErased)
            {
                return Nothing($"It is {referral.Status}; nothing more is sent about it.");
            }

            var original = (await calledFor.ByStateAsync(referral, cancellationToken)).FirstOrDefault(e => e.Kind == kind.Kind);
            if (original is null)
            {
                return Nothing($"A {kind.Kind} email does not apply to a referral that is {referral.Status}.");
            }

            if (partition.Emails.GetValueOrDefault(original.LedgerKey) is not { IsDone: true })
            {
                return Nothing($"Its {kind.Kind} email has not gone yet; the pipeline is still sending it.");
            }

            var resends = partition.Emails.Values.Where(e => EmailResend.Parse(e.LedgerKey) is { } r && r.Original == original.LedgerKey).ToList();
            if (resends.Any(e => !e.IsDone))
            {
                return Nothing($"A resend of its {kind.Kind} email is already waiting to go.");
            }

            var now = clock.GetUtcNow();
            var number = resends.Select(e => EmailResend.Parse(e.LedgerKey)!.Value.Number).DefaultIfEmpty(0).Max() + 1;
            var key = EmailResend.LedgerKey(original.LedgerKey, number);
            var keyName = identity.KeyName(request);
            var entry = new AuditEntry(now, keyName, Action, id, AuditReasons.Scrub(reason, referral), $"kind={kind.Kind}; ledgerKey={key}");
            var check = new TableEntity(id, ReferralEntity.RowKeyValue);
            if (kind.Recipient == EmailRecipient.Visitor && referral.VisitorUnreachable)
            {
                check[nameof(ReferralEntity.VisitorUnreachable)] = false;
            }

            try
            {
                await referrals.SubmitTransactionAsync(
                    [
                        // A merge of nothing (or of the cleared mark) against the ETag: refused behind an erasure or a change.
                        new TableTransactionAction(TableTransactionActionType.UpdateMerge, check, referral.ETag),
                        new TableTransactionAction(TableTransactionActionType.Add, new EmailLedgerEntity
                        {
                            PartitionKey = id, RowKey = EmailLedgerEntity.RowKeyFor(key), LedgerKey = key, State = EmailLedgerEntity.Requested, ClaimedAt = now,
                        }),
                        new TableTransactionAction(TableTransactionActionType.Add, OperatorAudit.ReferralRow(entry)),
                    ],
                    cancellationToken);
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412 && attempt < MaxAttempts)
            {
                continue; // the referral or its emails changed since we read them: decide again
            }

            await queues.NotifyAsync(referral, cancellationToken);
            await audit.RecordAsync(entry, cancellationToken);
            LogRequested(id, number, keyName);
            return TypedResults.Accepted((string?)null, new { id, kind = kind.Kind.ToString(), ledgerKey = key });
        }
    }

    private static IResult Nothing(string detail) => Problems.Of(StatusCodes.Status409Conflict, "Nothing to resend.", detail);

    // Not the kind: some kinds next to a reference say too much (EmailKindInfo.KindMayBeLogged); the audit has it.
    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId}: resend {Number} of an email requested by an operator (key {KeyName})")]
    private partial void LogRequested(string referralId, int number, string keyName);
}
