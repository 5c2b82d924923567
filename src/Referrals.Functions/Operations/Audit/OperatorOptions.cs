namespace Referrals.Functions.Operations.Audit;

public sealed class OperatorOptions
{
    public const string Section = "Operators";

    /// <summary>
    /// Key name → SHA-256 (hex) of the function or host key that operator uses. The isolated worker is not told which
    /// key authorised a call, so the audit recognises a key by its fingerprint; the keys themselves never reach the app.
    /// A key without an entry is audited as <see cref="OperatorIdentity.UnnamedKey"/>.
    /// </summary>
    public Dictionary<string, string> KeyFingerprints { get; set; } = [];
}
