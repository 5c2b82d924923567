using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Referrals.Functions.Routing;

namespace Referrals.Functions.Operations;

/// <summary>Re-imports the specialist directory now instead of waiting for the hourly sync. Needs the master key.</summary>
public sealed class SyncSpecialists(SpecialistDirectory directory)
{
    [Function(nameof(SyncSpecialists))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "ops/specialists/sync")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(new { imported = await directory.SyncFromFileAsync(cancellationToken) });
        }
        catch (FormatException e)
        {
            return TypedResults.Problem(title: "The specialists file is invalid; nothing was imported.", detail: e.Message, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
    }
}
