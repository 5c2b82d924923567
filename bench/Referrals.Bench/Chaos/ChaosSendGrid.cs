using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Referrals.Bench.Duplicates;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Chaos;

/// <summary>How the stand-in answered one request.</summary>
internal enum Answer
{
    Accepted,
    /// <summary>Accepted, but answered only after the app's attempt timeout.</summary>
    Hung,
    ServerError,
    RateLimited,
    /// <summary>Refused with 400, as SendGrid refuses a request it will never take.</summary>
    Rejected,
}

/// <summary>
/// One request to the stand-in. Ids only, except for operator alerts, whose subject and text (references and links,
/// never personal details) are kept to see which referrals an alert named.
/// </summary>
internal sealed record SendGridRequest(
    DateTimeOffset ArrivedAt, Answer Answer, string Category, string? ReferralId, string? LedgerKey, string? SendId, string? Subject, string? Text)
{
    public bool Accepted => Answer is Answer.Accepted or Answer.Hung;

    /// <summary>Arrived while a reset it had announced was pending, and later than a request already under way could.</summary>
    public bool Early { get; init; }
}

/// <summary>
/// SendGrid's mail/send endpoint for the chaos run, faked at its HTTP boundary: a share of requests answered 500 or
/// 503 (not accepted), a share accepted but answered only after the attempt timeout, and now and then a burst of 429s
/// with <c>X-RateLimit-Reset</c>. During a burst every request is refused until the reset, as SendGrid does, and one
/// that arrives later than <see cref="ChaosOptions.InFlightAllowance"/> after the burst was announced is early.
/// </summary>
internal sealed class ChaosSendGrid : IAsyncDisposable
{
    private static readonly HashSet<string> AlertCategories = ["OperatorAlert", "OperatorAlertDigest"];

    private readonly WebApplication app;
    private readonly ChaosOptions options;
    private readonly TimeSpan hangFor;
    private readonly Action<AcceptedRequest, string> onAccepted;
    private readonly Lock gate = new();
    private readonly List<SendGridRequest> requests = [];
    private readonly List<(DateTimeOffset AnnouncedAt, DateTimeOffset ResetAt)> bursts = [];
    private DateTimeOffset announcedAt = DateTimeOffset.MinValue;
    private DateTimeOffset resetAt = DateTimeOffset.MinValue;
    private DateTimeOffset nextBurstAt;
    private long lastAt;

    private ChaosSendGrid(WebApplication app, ChaosOptions options, Action<AcceptedRequest, string> onAccepted)
    {
        this.app = app;
        this.options = options;
        this.onAccepted = onAccepted;
        hangFor = options.AttemptTimeout + TimeSpan.FromSeconds(1);
        nextBurstAt = TimeProvider.System.GetUtcNow() + Spaced(options.RateLimitSpacing);
    }

    public string Url { get; private init; } = "";

    /// <param name="onAccepted">Told of every accepted request that carries the app's ids (for the webhook's event).</param>
    public static async Task<ChaosSendGrid> StartAsync(ChaosOptions options, Action<AcceptedRequest, string> onAccepted, CancellationToken cancellationToken)
    {
        var port = BenchEnvironment.FreePort();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var standIn = new ChaosSendGrid(app, options, onAccepted) { Url = $"http://127.0.0.1:{port}" };
        app.MapPost("/v3/mail/send", standIn.ReceiveAsync);
        await app.StartAsync(cancellationToken);
        return standIn;
    }

    public IReadOnlyList<SendGridRequest> Requests()
    {
        lock (gate)
        {
            return [.. requests];
        }
    }

    public IReadOnlyList<(DateTimeOffset AnnouncedAt, DateTimeOffset ResetAt)> Bursts()
    {
        lock (gate)
        {
            return [.. bursts];
        }
    }

    /// <summary>When the last request arrived (a Stopwatch timestamp; 0 before the first).</summary>
    public long LastAt => Interlocked.Read(ref lastAt);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }

    /// <summary>Whether this referral's confirmation is one SendGrid refuses, every time it is sent (stable within the run).</summary>
    public bool IsRejected(string referralId) => (uint)referralId.GetHashCode() % 100_000 < options.Reject * 100_000;

    /// <summary>Uniform between half and one and a half of <paramref name="mean"/>.</summary>
    internal static TimeSpan Spaced(TimeSpan mean) => mean * (0.5 + Random.Shared.NextDouble());

    private async Task ReceiveAsync(HttpContext context)
    {
        Interlocked.Exchange(ref lastAt, Stopwatch.GetTimestamp());
        var body = await SendGridRequestBody.ReadAsync(context.Request, context.RequestAborted);
        string? Arg(string name) => body.Arg(name);
        var category = body.Category;
        var alert = AlertCategories.Contains(category);
        var subject = alert ? body.Subject : null;
        var text = alert ? body.PlainText : null;

        var now = TimeProvider.System.GetUtcNow();
        Answer answer;
        var early = false;
        DateTimeOffset reset;
        lock (gate)
        {
            if (now >= resetAt && now >= nextBurstAt)
            {
                // A new burst: refused until a whole second a few seconds on (the header carries whole seconds).
                announcedAt = now;
                resetAt = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds() + Random.Shared.Next(3, 9));
                nextBurstAt = resetAt + Spaced(options.RateLimitSpacing);
                bursts.Add((announcedAt, resetAt));
            }

            reset = resetAt;
            if (now < resetAt)
            {
                answer = Answer.RateLimited;
                early = now > announcedAt + options.InFlightAllowance;
            }
            else if (category == "VisitorConfirmation" && Arg("referral_id") is { } rejected && IsRejected(rejected))
            {
                answer = Answer.Rejected;
            }
            else
            {
                var roll = Random.Shared.NextDouble();
                answer = roll < options.Fail ? Answer.ServerError : roll < options.Fail + options.Hang ? Answer.Hung : Answer.Accepted;
            }

            requests.Add(new SendGridRequest(now, answer, category, Arg("referral_id"), Arg("ledger_key"), Arg("send_id"), subject, text) { Early = early });
        }

        switch (answer)
        {
            case Answer.RateLimited:
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers["X-RateLimit-Limit"] = "600";
                context.Response.Headers["X-RateLimit-Remaining"] = "0";
                context.Response.Headers["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                await context.Response.WriteAsJsonAsync(new { errors = new[] { new { message = "too many requests" } } });
                return;
            case Answer.Rejected:
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new { errors = new[] { new { message = "The to address is not accepted.", field = "personalizations.0.to" } } });
                return;
            case Answer.ServerError:
                context.Response.StatusCode = Random.Shared.Next(2) == 0 ? StatusCodes.Status500InternalServerError : StatusCodes.Status503ServiceUnavailable;
                return;
        }

        var messageId = Guid.NewGuid().ToString("N");
        if (Arg("referral_id") is { } referralId && Arg("ledger_key") is { } ledgerKey && Arg("send_id") is { } sendId)
        {
            onAccepted(new AcceptedRequest(referralId, ledgerKey, sendId, messageId, answer == Answer.Hung, Stopwatch.GetTimestamp()), body.Recipient);
        }

        if (answer == Answer.Hung)
        {
            // Accepted already; only the answer is late, past the client's attempt timeout.
            await Task.Delay(hangFor, CancellationToken.None);
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.Headers["X-Message-Id"] = messageId;
    }
}
