using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WireMock;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMockRequest = WireMock.RequestBuilders.Request;

namespace Referrals.Bench.Pipeline;

/// <summary>One email as the stand-in received it; <see cref="At"/> is a <see cref="Stopwatch"/> timestamp.</summary>
internal sealed record ReceivedEmail(string Reference, string Recipient, string Subject, long At);

/// <summary>
/// SendGrid's mail/send endpoint, faked at its HTTP boundary: every request is accepted (202 with an X-Message-Id)
/// and remembered by the reference in its subject (every pipeline email's subject names its referral) and recipient.
/// </summary>
internal sealed partial class SendGridStandIn : IDisposable
{
    private readonly WireMockServer server;
    private readonly Lock gate = new();
    private readonly Dictionary<string, List<ReceivedEmail>> byReference = [];
    private readonly Dictionary<string, int> byRecipient = new(StringComparer.OrdinalIgnoreCase);
    private int total;

    public SendGridStandIn()
    {
        // Bodies are read as text (no JSON parsing, no request log kept): only the callback looks at them.
        server = WireMockServer.Start(new WireMockServerSettings { DisableJsonBodyParsing = true, MaxRequestLogCount = 1 });
        server.Given(WireMockRequest.Create().WithPath("/v3/mail/send").UsingPost()).RespondWith(Response.Create().WithCallback(Receive));
    }

    public string Url => server.Url!;

    public int Total
    {
        get { lock (gate) return total; }
    }

    /// <summary>The emails naming <paramref name="reference"/>, in arrival order.</summary>
    public IReadOnlyList<ReceivedEmail> For(string reference)
    {
        lock (gate)
        {
            return byReference.TryGetValue(reference, out var list) ? [.. list] : [];
        }
    }

    public IReadOnlyDictionary<string, int> RequestsPerRecipient()
    {
        lock (gate)
        {
            return new Dictionary<string, int>(byRecipient, StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// Waits until every reference has emails to <paramref name="perReference"/> distinct recipients, checking every
    /// <paramref name="poll"/>; fails naming the references still short when <paramref name="timeout"/> passes.
    /// </summary>
    public async Task WaitForAsync(IReadOnlyCollection<string> references, int perReference, TimeSpan timeout, TimeSpan poll, string what,
        Action<int, int>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        while (true)
        {
            var missing = references.Where(r => DistinctRecipients(r) < perReference).ToList();
            if (missing.Count == 0)
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                var sample = string.Join(", ", missing.Take(5).Select(r => $"{r} ({DistinctRecipients(r)} of {perReference})"));
                throw new BenchFailure($"{what}: {missing.Count} of {references.Count} referrals did not get their {perReference} emails at the SendGrid stand-in within {timeout.TotalSeconds:F0} s, e.g. {sample}.");
            }

            if (progress is not null && clock.Elapsed - lastReport >= TimeSpan.FromSeconds(10))
            {
                lastReport = clock.Elapsed;
                progress(references.Count - missing.Count, references.Count);
            }

            await Task.Delay(poll, cancellationToken);
        }
    }

    /// <summary>When the <paramref name="nth"/> distinct recipient of a reference got its email (a Stopwatch timestamp).</summary>
    public long NthRecipientAt(string reference, int nth) =>
        For(reference).GroupBy(e => e.Recipient, StringComparer.OrdinalIgnoreCase).Select(g => g.Min(e => e.At)).Order().ElementAt(nth - 1);

    public void Dispose() => server.Stop();

    private int DistinctRecipients(string reference)
    {
        lock (gate)
        {
            return byReference.TryGetValue(reference, out var list) ? list.Select(e => e.Recipient).Distinct(StringComparer.OrdinalIgnoreCase).Count() : 0;
        }
    }

    private ResponseMessage Receive(IRequestMessage request)
    {
        var at = Stopwatch.GetTimestamp();
        string recipient = "(unreadable)", subject = "";
        try
        {
            var json = JsonNode.Parse(request.Body ?? "");
            recipient = json?["personalizations"]?[0]?["to"]?[0]?["email"]?.ToString() ?? recipient;
            subject = (json?["subject"] ?? json?["personalizations"]?[0]?["subject"])?.ToString() ?? "";
        }
        catch (System.Text.Json.JsonException)
        {
            // Counted under "(unreadable)"; SendGrid itself would answer 400, but the count is what matters here.
        }

        var reference = ReferencePattern().Match(subject) is { Success: true } m ? m.Value : "(none)";
        lock (gate)
        {
            total++;
            byRecipient[recipient] = byRecipient.GetValueOrDefault(recipient) + 1;
            if (!byReference.TryGetValue(reference, out var list))
            {
                byReference[reference] = list = [];
            }

            list.Add(new ReceivedEmail(reference, recipient, subject, at));
        }

        var response = new ResponseMessage { StatusCode = 202 };
        response.AddHeader("X-Message-Id", Guid.NewGuid().ToString("N"));
        return response;
    }

    // References look like R-MMRWB-R5VJD.
    [GeneratedRegex(@"R-[0-9A-Z]{5}-[0-9A-Z]{5}")]
    private static partial Regex ReferencePattern();
}
