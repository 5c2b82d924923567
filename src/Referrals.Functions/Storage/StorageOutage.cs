using System.Net.Sockets;
using Azure;

namespace Referrals.Functions.Storage;

/// <summary>
/// Whether a storage call failed because storage is away for now (stopped, restarting, overloaded) rather than because
/// of the request (intake then answers 503; the DevHost's queue listeners back off): the Azure SDK reports a refused connection as status 0, and after its own retries wraps the
/// attempts' failures in an AggregateException.
/// </summary>
public static class StorageOutage
{
    public static bool IsTransient(Exception exception) => exception switch
    {
        RequestFailedException e => e.Status is 0 or 408 or 429 or >= 500,
        AggregateException e => e.InnerExceptions.Count > 0 && e.InnerExceptions.All(IsTransient),
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        // The SDK's network timeout surfaces as a cancellation the caller did not ask for.
        TaskCanceledException e => e.InnerException is TimeoutException || !e.CancellationToken.IsCancellationRequested,
        _ => false,
    };
}
