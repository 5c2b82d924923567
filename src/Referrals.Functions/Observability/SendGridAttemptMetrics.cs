using System.Net;

namespace Referrals.Functions.Observability;

/// <summary>
/// Counts each HTTP attempt to SendGrid and how it ended. It sits inside the resilience pipeline, so a retry is an
/// attempt of its own, and a send the rate-limit gate held back is none.
/// </summary>
public sealed class SendGridAttemptMetrics(PipelineMetrics metrics) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        metrics.EmailAttempt();
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch
        {
            metrics.EmailFailed();
            throw;
        }

        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            metrics.EmailRateLimited();
        }
        else if (!response.IsSuccessStatusCode)
        {
            metrics.EmailFailed();
        }

        return response;
    }
}
