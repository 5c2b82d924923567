using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Referrals.Core.Routing;
using Referrals.Functions.Routing;
using Referrals.Functions.Web;

namespace Referrals.Functions.Operations;

/// <summary>
/// Imports the specialist directory now: the posted CSV (text/csv) or, with no body, the file deployed with the app.
/// All or nothing; a bad file gets 422 with every bad line and its reason. Needs the master key.
/// </summary>
public sealed class SyncSpecialists(SpecialistDirectory directory)
{
    [Function(nameof(SyncSpecialists))]
    public async Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "ops/specialists/sync")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        try
        {
            if (request.ContentLength is > 0 || request.ContentType is not null)
            {
                if (!(request.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) ?? false))
                {
                    return Problems.Of(StatusCodes.Status415UnsupportedMediaType, "Send the directory as text/csv.");
                }

                using var reader = new StreamReader(request.Body);
                return TypedResults.Ok(new { imported = await directory.ImportAsync(await reader.ReadToEndAsync(cancellationToken), cancellationToken) });
            }

            return TypedResults.Ok(new { imported = await directory.ImportFileAsync(cancellationToken) });
        }
        catch (DirectoryFileException e)
        {
            return Problems.Of(StatusCodes.Status422UnprocessableEntity, "The specialist directory is invalid; nothing was imported.",
                extensions: new Dictionary<string, object?> { ["lines"] = e.Errors });
        }
    }
}
