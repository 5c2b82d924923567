using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Referrals.Bench.Pipeline;

namespace Referrals.Bench.Chaos;

/// <summary>One visitor's submission: its reference once accepted, how many POSTs that took, or why it was refused.</summary>
internal sealed record Submission(int Index, string IdempotencyKey, string? Reference, int Attempts, HttpStatusCode? RefusedWith);

/// <summary>
/// Visitors posting the form as a careful client does: a POST that gets no answer (the DevHost was killed), a 503 or
/// a 429 is sent again with the same Idempotency-Key, after its Retry-After (at most 10 s) or a second, until it is
/// accepted or refused for good. Each visitor has its own email address and IPv6 /64, as in the other runs.
/// </summary>
internal sealed class ChaosVisitors(Uri baseAddress, string runId, TimeSpan giveUpAfter) : IDisposable
{
    private readonly HttpClient http = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(15) };
    private int posts;
    private int accepted;
    private int answered;

    public int Posts => Volatile.Read(ref posts);
    public int Accepted => Volatile.Read(ref accepted);

    /// <summary>Submissions that ended, accepted or refused.</summary>
    public int Answered => Volatile.Read(ref answered);

    public async Task<Submission[]> SubmitAsync(int count, int concurrency, CancellationToken cancellationToken)
    {
        var results = new Submission[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                results[i] = await SubmitOneAsync(i, cancellationToken);
                Interlocked.Increment(ref answered);
            }
        }, cancellationToken)));
        return results;
    }

    private async Task<Submission> SubmitOneAsync(int index, CancellationToken cancellationToken)
    {
        var key = Guid.NewGuid().ToString("N");
        var deadline = DateTimeOffset.UtcNow + giveUpAfter;
        for (var attempt = 1; ; attempt++)
        {
            Interlocked.Increment(ref posts);
            var wait = TimeSpan.FromSeconds(1);
            try
            {
                using var request = Request(index, key);
                using var response = await http.SendAsync(request, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    var reference = (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))?["id"]?.ToString();
                    if (reference is not null)
                    {
                        Interlocked.Increment(ref accepted);
                        return new Submission(index, key, reference, attempt, null);
                    }
                }
                else if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway))
                {
                    return new Submission(index, key, null, attempt, response.StatusCode);
                }

                if (response.Headers.RetryAfter?.Delta is { } delta)
                {
                    wait = delta > TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(10) : delta;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
            {
                // No answer: the host was killed or restarting. The same key again.
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                return new Submission(index, key, null, attempt, HttpStatusCode.RequestTimeout);
            }

            await Task.Delay(wait, cancellationToken);
        }
    }

    private HttpRequestMessage Request(int index, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "api/referrals")
        {
            Content = JsonContent.Create(new
            {
                name = "Chaos Visitor",
                email = $"chaos-{runId}-{index}@example.com",
                state = "NY",
                treatment = "iv-ketamine-infusion",
                consent = true,
                privacyAcknowledged = true,
                adult = true,
                topic = "iv-ketamine-infusion",
                post = "ketamine-therapy",
            }),
        };
        request.Headers.Add("Idempotency-Key", key);
        request.Headers.Add(ReferralPoster.ForwardedHeader, string.Create(CultureInfo.InvariantCulture, $"2001:db8:{0xc400 + (index >> 16):x}:{index & 0xffff:x}::1"));
        return request;
    }

    public void Dispose() => http.Dispose();
}
