namespace Referrals.Core.Email;

/// <summary>
/// An operator's resend of an email (say, after a bounced address was corrected) is a new email to the ledger: its
/// key is the original's plus a resend number, so a retried message still never sends the same resend twice, and a
/// second resend is a third email rather than a repeat of the first.
/// </summary>
public static class EmailResend
{
    /// <summary>Between the original's ledger key and the resend number; a character no ledger key holds otherwise.</summary>
    public const string Marker = "~resend";

    public static string LedgerKey(string originalLedgerKey, int number) =>
        number >= 1 ? $"{originalLedgerKey}{Marker}{number}" : throw new ArgumentOutOfRangeException(nameof(number), number, "Resends are numbered from 1.");

    /// <summary>The original's key and the resend number, or null when <paramref name="ledgerKey"/> is no resend.</summary>
    public static (string Original, int Number)? Parse(string ledgerKey)
    {
        var at = ledgerKey.LastIndexOf(Marker, StringComparison.Ordinal);
        return at > 0 && int.TryParse(ledgerKey.AsSpan(at + Marker.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number >= 1
            ? (ledgerKey[..at], number)
            : null;
    }

    /// <summary>The original's ledger key for a resend's key; the key itself otherwise.</summary>
    public static string OriginalOf(string ledgerKey) => Parse(ledgerKey)?.Original ?? ledgerKey;

    public static bool IsResend(string ledgerKey) => Parse(ledgerKey) is not null;

    /// <summary>
    /// The resends still to send: for each requested key whose original the referral's state still calls for, that
    /// email again under the resend's key. A resend whose original no longer applies waits, unsent.
    /// </summary>
    public static IEnumerable<EmailMessage> Copies(IReadOnlyList<EmailMessage> calledFor, IEnumerable<string> requestedKeys)
    {
        foreach (var key in requestedKeys)
        {
            if (Parse(key) is { } resend && calledFor.FirstOrDefault(e => e.LedgerKey == resend.Original) is { } original)
            {
                yield return original with { LedgerKey = key };
            }
        }
    }
}
