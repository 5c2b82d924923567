using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Referrals.Bench.Pipeline;

/// <summary>The answer to one POST /api/referrals: <see cref="Started"/> is a <see cref="Stopwatch"/> timestamp.</summary>
internal sealed record Posted(string Email, HttpStatusCode Status, string? Reference, long Started, TimeSpan Latency);

/// <summary>
/// Posts referrals as visitors from the blog do (JSON with the learn-more link's topic, post and utm values), each
/// with an email address of its own, so no repeat, dedupe or per-address limit gets in the way. Unless
/// <paramref name="oneClient"/>, each visitor also comes from an IPv6 /64 of its own (2001:db8::/32, the documentation
/// range), named in X-Forwarded-For to the DevHost, which trusts the bench as its proxy: a burst from the blog is many
/// visitors, not one client posting 32 at a time.
/// </summary>
internal sealed class ReferralPoster(Uri baseAddress, string runId, bool oneClient) : IDisposable
{
    private readonly HttpClient http = new(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>The header the DevHost is told to believe from the bench (Intake:ClientAddressHeader's default).</summary>
    public const string ForwardedHeader = "X-Forwarded-For";

    /// <param name="phase">Names the step; its <paramref name="phaseCode"/> (0-255) keeps its visitors' /64s apart from other steps'.</param>
    public async Task<Posted> PostAsync(string phase, int phaseCode, int index, string state, string treatment, CancellationToken cancellationToken)
    {
        var email = $"bench-{runId}-{phase}-{index}@example.com";
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/referrals");
        if (!oneClient)
        {
            request.Headers.Add(ForwardedHeader, $"2001:db8:{0xbe00 + phaseCode:x}:{index:x}::1");
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            request.Content = JsonContent.Create(new
            {
                name = "Bench Visitor",
                email,
                state,
                treatment,
                consent = true,
                privacyAcknowledged = true,
                adult = true,
                topic = "iv-ketamine-infusion",
                post = "ketamine-therapy",
                utm = new Dictionary<string, string> { ["utm_source"] = "blog", ["utm_medium"] = "learn-more" },
            });
            using var response = await http.SendAsync(request, cancellationToken);
            var latency = Stopwatch.GetElapsedTime(started);
            string? reference = null;
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                reference = (await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))?["id"]?.ToString();
            }

            return new Posted(email, response.StatusCode, reference, started, latency);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Posted(email, HttpStatusCode.RequestTimeout, null, started, Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException)
        {
            return new Posted(email, 0, null, started, Stopwatch.GetElapsedTime(started));
        }
    }

    public void Dispose() => http.Dispose();
}
