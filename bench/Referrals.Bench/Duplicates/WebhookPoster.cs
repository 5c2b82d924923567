using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Referrals.Bench.Duplicates;

/// <summary>
/// SendGrid's Event Webhook, faked: for every request the stand-in accepted, a signed "processed" event carrying the
/// request's custom_args, posted to the DevHost a random delay later. Signed as SendGrid signs (ECDSA P-256, SHA-256,
/// DER, over timestamp + body) with a key pair made for this run; the DevHost gets its public key.
/// </summary>
internal sealed class WebhookPoster : IDisposable
{
    private readonly ECDsa key;
    private readonly HttpClient http;
    private readonly TimeSpan minDelay;
    private readonly TimeSpan maxDelay;
    private readonly CancellationToken stop;
    private readonly TimeSpan retryFor;
    private readonly List<Task> pending = [];
    private readonly Lock gate = new();
    private int posted;
    private int refused;
    private int failed;

    /// <param name="key">The run's P-256 key; the DevHost was started with its public key (<see cref="PublicKeyOf"/>).</param>
    /// <param name="retryFor">
    /// How long a post that got no answer or a 5xx is tried again, every 2 s, as SendGrid retries failed posts (the
    /// chaos run kills the DevHost); zero posts once.
    /// </param>
    public WebhookPoster(ECDsa key, Uri devHost, TimeSpan minDelay, TimeSpan maxDelay, CancellationToken stop, TimeSpan retryFor = default)
    {
        this.retryFor = retryFor;
        this.key = key;
        http = new HttpClient { BaseAddress = devHost, Timeout = TimeSpan.FromSeconds(30) };
        this.minDelay = minDelay;
        this.maxDelay = maxDelay;
        this.stop = stop;
    }

    /// <summary>Email:EventWebhookPublicKey: the public key as base64 SubjectPublicKeyInfo, as SendGrid's settings show it.</summary>
    public static string PublicKeyOf(ECDsa key) => Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    /// <summary>Posts answered 200.</summary>
    public int Posted => Volatile.Read(ref posted);

    /// <summary>Posts answered otherwise (a bad signature would show here as 401).</summary>
    public int Refused => Volatile.Read(ref refused);

    /// <summary>Posts that got no answer.</summary>
    public int Failed => Volatile.Read(ref failed);

    public void Schedule(AcceptedRequest request, string recipient)
    {
        var delay = minDelay + (maxDelay - minDelay) * Random.Shared.NextDouble();
        var task = Task.Run(async () =>
        {
            await Task.Delay(delay, stop);
            await PostAsync(request, recipient);
        }, stop);
        lock (gate)
        {
            pending.Add(task);
        }
    }

    /// <summary>Waits for the posts scheduled so far (their delays are short and bounded).</summary>
    public async Task DrainAsync()
    {
        Task[] all;
        lock (gate)
        {
            all = [.. pending];
        }

        try
        {
            await Task.WhenAll(all);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run is stopping.
        }
    }

    public void Dispose()
    {
        http.Dispose();
    }

    private async Task PostAsync(AcceptedRequest request, string recipient)
    {
        var deadline = DateTimeOffset.UtcNow + retryFor;
        while (true)
        {
            var answer = await PostOnceAsync(request, recipient);
            if (answer is not null && (int)answer < 500)
            {
                Interlocked.Increment(ref answer == HttpStatusCode.OK ? ref posted : ref refused);
                return;
            }

            if (DateTimeOffset.UtcNow >= deadline || stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref answer is null ? ref failed : ref refused);
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(2), stop);
        }
    }

    /// <returns>The status, or null when there was no answer.</returns>
    private async Task<HttpStatusCode?> PostOnceAsync(AcceptedRequest request, string recipient)
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        // As SendGrid posts it: the custom_args sit at the top level of the event, next to SendGrid's own fields.
        var payload = new JsonArray(new JsonObject
        {
            ["email"] = recipient,
            ["timestamp"] = now,
            ["event"] = "processed",
            ["sg_event_id"] = Guid.NewGuid().ToString("N"),
            ["sg_message_id"] = request.MessageId + ".filter0001.bench",
            ["referral_id"] = request.ReferralId,
            ["ledger_key"] = request.LedgerKey,
            ["send_id"] = request.SendId,
        }).ToJsonString();
        var timestamp = now.ToString(CultureInfo.InvariantCulture);
        var signature = key.SignData(Encoding.UTF8.GetBytes(timestamp + payload), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        using var message = new HttpRequestMessage(HttpMethod.Post, "api/sendgrid/events")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        message.Headers.Add("X-Twilio-Email-Event-Webhook-Signature", Convert.ToBase64String(signature));
        message.Headers.Add("X-Twilio-Email-Event-Webhook-Timestamp", timestamp);
        try
        {
            using var response = await http.SendAsync(message, stop);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
        {
            return null;
        }
    }
}
