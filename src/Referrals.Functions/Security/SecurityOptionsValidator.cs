using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Referrals.Core.Security;

namespace Referrals.Functions.Security;

/// <summary>Refuses to start with a ring that would sign with a weak or public secret, naming what is wrong.</summary>
public sealed class SecurityOptionsValidator(IHostEnvironment environment) : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var failures = new List<string>();
        if (options.Keys.Count == 0)
        {
            failures.Add($"Set {SecurityOptions.Section}:Keys:<id> to a secret of at least {KeyRing.MinimumSecretLength} characters, and {SecurityOptions.Section}:ActiveKeyId to that id.");
        }
        else if (!options.Keys.ContainsKey(options.ActiveKeyId))
        {
            failures.Add($"{SecurityOptions.Section}:ActiveKeyId '{options.ActiveKeyId}' is not one of the configured keys.");
        }

        foreach (var (id, secret) in options.Keys)
        {
            if (!KeyRing.IsValidKeyId(id))
            {
                failures.Add($"Key id '{id}' must be 1 to 32 letters, digits, '-' or '_'.");
            }

            if (secret.Length < KeyRing.MinimumSecretLength)
            {
                failures.Add($"Key '{id}' is shorter than {KeyRing.MinimumSecretLength} characters.");
            }

            if (!environment.IsDevelopment() && SecurityOptions.ShippedSecrets.Contains(secret))
            {
                failures.Add($"Key '{id}' is a development secret shipped in this repository; outside Development every key must be a secret of your own.");
            }
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
