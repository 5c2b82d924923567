using System.Net;
using Polly;

namespace Referrals.Functions.Notifications;

/// <summary>Puts every attempt of the "sendgrid" pipeline through the <see cref="SendGridRateGate"/>, and closes it on a 429.</summary>
internal sealed class SendGridRateGateStrategy(SendGridRateGate gate, TimeProvider clock) : ResilienceStrategy<HttpResponseMessage>
{
    protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        try
        {
            await gate.EnterAsync(context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
        }
        catch (Exception e)
        {
            // A strategy reports failures as outcomes; the handler rethrows it as it is (a ComeBackLaterException).
            return Outcome.FromException<HttpResponseMessage>(e);
        }

        var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
        if (outcome.Result is { StatusCode: HttpStatusCode.TooManyRequests } limited)
        {
            var now = clock.GetUtcNow();
            try
            {
                await gate.CloseUntilAsync(SendGridResilience.RateLimitResetAt(limited, now) ?? now.AddMinutes(1), context.CancellationToken)
                    .ConfigureAwait(context.ContinueOnCapturedContext);
            }
            catch (OperationCanceledException e)
            {
                limited.Dispose();
                return Outcome.FromException<HttpResponseMessage>(e);
            }
        }

        return outcome;
    }
}
