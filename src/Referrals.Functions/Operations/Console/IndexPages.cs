using System.Text;
using Azure.Data.Tables;

namespace Referrals.Functions.Operations.Console;

/// <summary>
/// Pages of the operators' index, newest first. The continuation handed to the client is the table service's own
/// (it names the next day partition and row), base64url-encoded: opaque to the client, and the server keeps no state.
/// </summary>
public static class IndexPages
{
    public sealed record Page(IReadOnlyList<TableEntity> Rows, string? Continuation);

    /// <summary>
    /// Up to <paramref name="pageSize"/> rows. A filtered query may answer with fewer rows and a continuation (the
    /// service stops at partition and time limits): asks again for the rest, so a page is short only at the end.
    /// </summary>
    public static async Task<Page> ReadAsync(TableClient index, string filter, int pageSize, string? continuation, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>(pageSize);
        var token = continuation;
        do
        {
            var remaining = pageSize - rows.Count;
            await foreach (var page in index.QueryAsync<TableEntity>(filter, maxPerPage: remaining, cancellationToken: cancellationToken).AsPages(token, remaining))
            {
                rows.AddRange(page.Values.Take(remaining));
                token = page.ContinuationToken;
                break;
            }
        }
        while (rows.Count < pageSize && token is not null);

        return new Page(rows, Encode(token));
    }

    public static string? Encode(string? token) =>
        token is null ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes(token)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The table's continuation, or false when the text is not one of ours.</summary>
    public static bool TryDecode(string? text, out string? token)
    {
        token = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (text.Length > 2048)
        {
            return false;
        }

        var base64 = text.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, bytes, out var written))
        {
            return false;
        }

        token = Encoding.UTF8.GetString(bytes, 0, written);
        // The SDK's token is the next partition and row key; a stray character would only start the page elsewhere,
        // but refusing what was never handed out keeps mistakes visible.
        return token.Contains(' ', StringComparison.Ordinal) && !token.Any(char.IsControl);
    }
}
