using Microsoft.AspNetCore.Http;

namespace Referrals.Functions.Web;

/// <summary>RFC 7807 answers, built one way everywhere: a title that says what is wrong, a detail that says what to do.</summary>
internal static class Problems
{
    public static IResult Of(int statusCode, string title, string? detail = null, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: statusCode, extensions: extensions);

    public static IResult NotFound(string title, string? detail = null) => Of(StatusCodes.Status404NotFound, title, detail);

    /// <summary>A 400 listing each field's problems under its field name (<see cref="Core.Referrals.ReferralFields"/>).</summary>
    public static IResult Validation(IEnumerable<KeyValuePair<string, string[]>> errors, string title) =>
        TypedResults.ValidationProblem(errors, title: title);
}
