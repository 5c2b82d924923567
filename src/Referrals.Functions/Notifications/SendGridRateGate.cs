using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Referrals.Functions.Storage;

namespace Referrals.Functions.Notifications;

/// <summary>
/// SendGrid's rate limit is the account's, not one message's: after a 429 no attempt from any invocation may go out
/// before its reset. One gate per instance holds "closed until T"; a row in the ledger table tells the other instances.
/// </summary>
/// <remarks>
/// Other instances read that row at most once per <see cref="SendGridResilienceOptions.RateLimitRefresh"/> and only
/// when they are about to send, so storage is not read per email, and written only on a 429. The price of that bound:
/// an instance may send during one refresh period after another instance's 429. SendGrid then answers it with a 429
/// of its own, which closes its gate at once: at worst one refused request per instance per period, never a burst.
/// </remarks>
public sealed partial class SendGridRateGate(
    [FromKeyedServices(StorageNames.EmailLedgerTable)] TableClient ledger,
    IOptions<SendGridResilienceOptions> options,
    TimeProvider clock,
    ILogger<SendGridRateGate> logger)
{
    public const string SharedPartition = "sendgrid-rate-limit";
    public const string SharedRow = "";
    public const string ResetAtProperty = "ResetAt";

    private readonly Lock refreshLock = new();
    private long closedUntilTicks = DateTimeOffset.MinValue.UtcTicks;
    private DateTimeOffset nextRefreshAt = DateTimeOffset.MinValue;
    private Task refreshing = Task.CompletedTask;

    /// <summary>The latest reset this instance knows of (in the past when the gate is open).</summary>
    public DateTimeOffset ClosedUntil => new(Interlocked.Read(ref closedUntilTicks), TimeSpan.Zero);

    /// <summary>
    /// Returns when an attempt may go to SendGrid: at once when open; after the reset when it is at most
    /// <see cref="SendGridResilienceOptions.MaxRateLimitWait"/> away; otherwise throws
    /// <see cref="SendGridRateLimitedException"/> so the message is queued again for the reset.
    /// </summary>
    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        var latest = clock.GetUtcNow() + options.Value.MaxRateLimitWait;
        while (true)
        {
            await RefreshIfDueAsync(cancellationToken);
            var now = clock.GetUtcNow();
            var until = ClosedUntil;
            if (until <= now)
            {
                return;
            }

            // Bounded for the whole call, so a reset pushed on while waiting cannot stretch one attempt indefinitely.
            if (until > latest)
            {
                throw new SendGridRateLimitedException(until);
            }

            await Task.Delay(until - now, clock, cancellationToken);
        }
    }

    /// <summary>A 429 said SendGrid refuses until <paramref name="resetAt"/>: close this gate, and tell the others.</summary>
    public async Task CloseUntilAsync(DateTimeOffset resetAt, CancellationToken cancellationToken)
    {
        if (!Extend(resetAt))
        {
            return; // already closed at least that long: this instance wrote or read it already
        }

        LogClosed(resetAt);
        try
        {
            // The later of two resets wins here too: a slower instance's older 429 must not reopen the gate early.
            await ledger.ChangeAsync<TableEntity, bool>(SharedPartition, SharedRow, current =>
                current?.GetDateTimeOffset(ResetAtProperty) >= resetAt
                    ? (null, false)
                    : (new TableEntity(SharedPartition, SharedRow) { [ResetAtProperty] = resetAt }, true), cancellationToken);
        }
        catch (RequestFailedException e)
        {
            // This instance's gate is closed already; the others learn from SendGrid's own 429 instead.
            LogSharedWriteFailed(e);
        }
    }

    private Task RefreshIfDueAsync(CancellationToken cancellationToken)
    {
        lock (refreshLock)
        {
            var now = clock.GetUtcNow();
            if (now >= nextRefreshAt)
            {
                // One read per period; concurrent senders wait for that read rather than send on what is known. Going
                // on without it let a freshly started instance's first senders out before a reset another instance
                // (or the instance it replaced) had recorded (found by the chaos run).
                nextRefreshAt = now + options.Value.RateLimitRefresh;
                refreshing = ReadSharedAsync();
            }

            return refreshing.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Not cancelled by the sender that started it: others are waiting on it too (a single point read).</summary>
    private async Task ReadSharedAsync()
    {
        try
        {
            var row = await ledger.GetEntityIfExistsAsync<TableEntity>(SharedPartition, SharedRow, [ResetAtProperty], CancellationToken.None);
            if (row.HasValue && row.Value!.GetDateTimeOffset(ResetAtProperty) is { } resetAt && resetAt > clock.GetUtcNow() && Extend(resetAt))
            {
                LogLearned(resetAt);
            }
        }
        catch (Exception e)
        {
            // Send on what this instance knows; a 429 would close the gate anyway. Never a faulted task that every
            // sender of the next period would meet.
            LogSharedReadFailed(e);
        }
    }

    /// <returns>Whether <paramref name="resetAt"/> is later than what the gate held.</returns>
    private bool Extend(DateTimeOffset resetAt)
    {
        var ticks = resetAt.UtcTicks;
        var seen = Interlocked.Read(ref closedUntilTicks);
        while (seen < ticks)
        {
            var was = Interlocked.CompareExchange(ref closedUntilTicks, ticks, seen);
            if (was == seen)
            {
                return true;
            }

            seen = was;
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SendGrid answered 429: no email goes out before {ResetAt:O}")]
    private partial void LogClosed(DateTimeOffset resetAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Another instance met SendGrid's rate limit: no email goes out before {ResetAt:O}")]
    private partial void LogLearned(DateTimeOffset resetAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not share SendGrid's rate limit with other instances")]
    private partial void LogSharedWriteFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read SendGrid's rate limit shared by other instances")]
    private partial void LogSharedReadFailed(Exception exception);
}
