using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Core.Security;

namespace Referrals.Functions.Security;

/// <summary>
/// The key ring and everything signed or hashed with it: form stamps, thank-you cookies, signed links, keyed hashes.
/// Core/Security holds the pure code; this is where it meets configuration.
/// </summary>
public static class SecurityRegistration
{
    public static IServiceCollection AddReferralSecurity(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>();
        services.AddSingleton(sp =>
        {
            var security = sp.GetRequiredService<IOptions<SecurityOptions>>().Value;
            return new KeyRing(security.ActiveKeyId, security.Keys);
        });
        services.AddSingleton<SignedLinks>();
        services.AddSingleton<FormStamp>();
        services.AddSingleton<ThanksToken>();
        services.AddSingleton<KeyedHash>();

        services.AddOptions<LinkOptions>().BindConfiguration(LinkOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ReferralLinks>();
        return services;
    }
}
