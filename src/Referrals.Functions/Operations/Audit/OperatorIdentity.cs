using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Referrals.Functions.Operations.Audit;

/// <summary>Names the key an operator's request carried (as the Functions host reads it: header first, then <c>code</c>).</summary>
public sealed class OperatorIdentity(IOptionsMonitor<OperatorOptions> options)
{
    public const string UnnamedKey = "unnamed-key";
    public const string KeyHeader = "x-functions-key";
    public const string KeyQuery = "code";

    public string KeyName(HttpRequest request)
    {
        var presented = request.Headers[KeyHeader].FirstOrDefault() is { Length: > 0 } header ? header : request.Query[KeyQuery].FirstOrDefault();
        if (string.IsNullOrEmpty(presented))
        {
            return UnnamedKey;
        }

        var fingerprint = Fingerprint(presented);
        foreach (var (name, expected) in options.CurrentValue.KeyFingerprints)
        {
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(fingerprint), Encoding.ASCII.GetBytes(expected.Trim().ToLowerInvariant())))
            {
                return name;
            }
        }

        return UnnamedKey;
    }

    /// <summary>What <see cref="OperatorOptions.KeyFingerprints"/> holds for a key: lower-case hex SHA-256 of its UTF-8 bytes.</summary>
    public static string Fingerprint(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
