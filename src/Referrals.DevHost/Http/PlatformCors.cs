using Microsoft.AspNetCore.Cors.Infrastructure;

namespace Referrals.DevHost.Http;

/// <summary>
/// CORS as the platform does it on Flex Consumption: the Functions host runs ASP.NET Core's CORS middleware ahead of
/// every function, with the site's CORS list as exact origins, any method and any header, no credentials. A preflight
/// is answered there (204, with the CORS headers only for a listed origin) and never reaches the function; other
/// requests get Access-Control-Allow-Origin added for a listed origin. The DevHost runs the same middleware with the
/// same policy, so what a test sees locally is what Azure shows.
/// </summary>
public static class PlatformCors
{
    /// <summary>
    /// The blog's origins, configured once: the app reads them (Web.WebOptions) and, on Azure, infra sets the site's
    /// CORS list from the same parameter; here they are the DevHost's platform list.
    /// </summary>
    public const string OriginsSetting = "Intake:AllowedOrigins";

    public static IServiceCollection AddPlatformCors(this IServiceCollection services, IConfiguration configuration)
    {
        var origins = configuration.GetSection(OriginsSetting).Get<string[]>() ?? [];
        return services.AddCors(cors => cors.AddDefaultPolicy(Policy(origins)));
    }

    /// <summary>The host's policy (CorsOptionsSetup in azure-functions-host): exact origins, any header, any method.</summary>
    public static CorsPolicy Policy(IEnumerable<string> origins) =>
        new CorsPolicyBuilder([.. origins]).AllowAnyHeader().AllowAnyMethod().Build();

    /// <summary>Ahead of the HTTP triggers, as the host's middleware is ahead of the function.</summary>
    public static IApplicationBuilder UsePlatformCors(this IApplicationBuilder app) => app.UseCors();
}
