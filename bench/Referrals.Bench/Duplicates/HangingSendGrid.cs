using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Duplicates;

/// <summary>
/// One request SendGrid accepted. Ids only: the ids the app put in custom_args, whether the stand-in made it hang,
/// and whether the client gave up on it before the answer (its attempt timed out). <see cref="At"/> is a Stopwatch timestamp.
/// </summary>
internal sealed record AcceptedRequest(string ReferralId, string LedgerKey, string SendId, string MessageId, bool Hung, long At)
{
    public bool Abandoned { get; set; }
}

/// <summary>
/// SendGrid's mail/send endpoint, faked at its HTTP boundary as a small Kestrel app (WireMock cannot delay one
/// request and not the next from its callback): every request is accepted with 202 and an X-Message-Id, and is
/// counted as accepted when it arrives, because SendGrid delivers what it accepted even when its answer never
/// reaches the client. A share (<see cref="DuplicatesOptions.Hang"/>) is answered only after the attempt timeout and a
/// second more, so the app sees a timeout: an unknown outcome.
/// </summary>
internal sealed class HangingSendGrid : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Lock gate = new();
    private readonly List<AcceptedRequest> accepted = [];
    private readonly double hang;
    private readonly TimeSpan hangFor;
    private readonly Action<AcceptedRequest, string> onAccepted;
    private long lastAt;
    private int unreadable;

    private HangingSendGrid(WebApplication app, double hang, TimeSpan hangFor, Action<AcceptedRequest, string> onAccepted)
    {
        this.app = app;
        this.hang = hang;
        this.hangFor = hangFor;
        this.onAccepted = onAccepted;
    }

    public string Url { get; private init; } = "";

    /// <param name="onAccepted">Told of every accepted request and its recipient (for the webhook's event), on the request's thread.</param>
    public static async Task<HangingSendGrid> StartAsync(double hang, TimeSpan attemptTimeout, Action<AcceptedRequest, string> onAccepted, CancellationToken cancellationToken)
    {
        var port = BenchEnvironment.FreePort();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var standIn = new HangingSendGrid(app, hang, attemptTimeout + TimeSpan.FromSeconds(1), onAccepted) { Url = $"http://127.0.0.1:{port}" };
        app.MapPost("/v3/mail/send", standIn.ReceiveAsync);
        await app.StartAsync(cancellationToken);
        return standIn;
    }

    public IReadOnlyList<AcceptedRequest> Accepted()
    {
        lock (gate)
        {
            return [.. accepted];
        }
    }

    /// <summary>Requests without the app's custom_args (none expected: every send carries them).</summary>
    public int Unreadable => Volatile.Read(ref unreadable);

    /// <summary>When the last request arrived (a Stopwatch timestamp; 0 before the first).</summary>
    public long LastAt => Interlocked.Read(ref lastAt);

    /// <summary>Distinct ledger keys accepted per referral.</summary>
    public Dictionary<string, int> EmailsPerReferral()
    {
        lock (gate)
        {
            return accepted.GroupBy(a => a.ReferralId).ToDictionary(g => g.Key, g => g.Select(a => a.LedgerKey).Distinct().Count());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        var at = Stopwatch.GetTimestamp();
        Interlocked.Exchange(ref lastAt, at);
        var body = await SendGridRequestBody.ReadAsync(context.Request, context.RequestAborted);
        string? Arg(string name) => body.Arg(name);
        var messageId = Guid.NewGuid().ToString("N");
        var hung = Random.Shared.NextDouble() < hang;
        if (Arg("referral_id") is { } referralId && Arg("ledger_key") is { } ledgerKey && Arg("send_id") is { } sendId)
        {
            var request = new AcceptedRequest(referralId, ledgerKey, sendId, messageId, hung, at);
            lock (gate)
            {
                accepted.Add(request);
            }

            onAccepted(request, body.Recipient);
            if (hung)
            {
                // Accepted already; only the answer is late, past the client's attempt timeout.
                await Task.Delay(hangFor, CancellationToken.None);
            }

            request.Abandoned = context.RequestAborted.IsCancellationRequested;
        }
        else
        {
            Interlocked.Increment(ref unreadable);
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.Headers["X-Message-Id"] = messageId;
    }
}
