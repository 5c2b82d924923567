using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Referrals.Functions;

namespace Referrals.InfraTests;

/// <summary>
/// The app settings the code reads, from the code itself. The composition root runs against a configuration that
/// records every key asked for. Each options class it binds (from Referrals assemblies) is then resolved alone, and
/// the section its binding asked for, with the class's public properties, gives its settings; keys read directly
/// (AzureWebJobsStorage, APPLICATIONINSIGHTS_CONNECTION_STRING) are taken as recorded. A dictionary or array
/// property is a collection, set as Section__Property__&lt;key&gt;.
/// </summary>
internal static class SettingsTheCodeReads
{
    public sealed record Read(IReadOnlySet<string> Settings, IReadOnlySet<string> Collections, IReadOnlyDictionary<Type, string> Sections);

    public static Read Find()
    {
        var recorder = new RecordingProvider();
        var configuration = new ConfigurationBuilder().Add(new RecordingSource(recorder)).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = Environments.Production, ApplicationName = "Referrals.Functions" });
        services.AddReferralPipeline(configuration);
        var direct = recorder.Take();

        using var provider = services.BuildServiceProvider();
        var bound = services
            .Where(s => s.ServiceType.IsGenericType && s.ServiceType.GetGenericTypeDefinition() == typeof(IOptionsChangeTokenSource<>))
            .Select(s => s.ServiceType.GetGenericArguments()[0])
            .Where(t => t.Assembly.GetName().Name!.StartsWith("Referrals.", StringComparison.Ordinal))
            .Distinct()
            .ToList();

        var sections = new Dictionary<Type, string>();
        foreach (var options in bound)
        {
            var accessor = provider.GetRequiredService(typeof(IOptions<>).MakeGenericType(options));
            try
            {
                accessor.GetType().GetProperty(nameof(IOptions<object>.Value))!.GetValue(accessor);
            }
            catch (TargetInvocationException e) when (e.InnerException is OptionsValidationException)
            {
                // The recorder answers nothing, so validation refuses; binding, which is what was wanted, came first.
            }

            // Binding asks first whether its section has anything: that request names the section.
            sections[options] = recorder.Take().Parents.FirstOrDefault()
                ?? throw new InvalidOperationException($"Resolving {options.Name} asked for no configuration section.");
        }

        var settings = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var collections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (type, section) in sections)
        {
            AddProperties(type, section, settings, collections);
        }

        // Keys the composition root reads itself, outside any options section (and not a section's own probe).
        foreach (var key in direct.Values.Where(k => !sections.Values.Any(s => k.Equals(s, StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith(s + ":", StringComparison.OrdinalIgnoreCase) || s.StartsWith(k + ":", StringComparison.OrdinalIgnoreCase))))
        {
            settings.Add(key);
        }

        return new Read(settings, collections, sections);
    }

    /// <summary>The keys the binder would fill: public settable properties, collections, and nested classes' own.</summary>
    private static void AddProperties(Type type, string prefix, HashSet<string> settings, HashSet<string> collections)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            var key = $"{prefix}:{property.Name}";
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (propertyType != typeof(string) && typeof(IEnumerable).IsAssignableFrom(propertyType))
            {
                collections.Add(key);
            }
            else if (property.SetMethod is not { IsPublic: true })
            {
                // Worked out from other settings (DirectoryOptions.SpecialistsFilePath): not bound.
            }
            else if (propertyType.IsPrimitive || propertyType.IsEnum || propertyType == typeof(string) || propertyType == typeof(decimal)
                     || propertyType == typeof(TimeSpan) || propertyType == typeof(DateTimeOffset) || propertyType == typeof(Uri))
            {
                settings.Add(key);
            }
            else
            {
                AddProperties(propertyType, key, settings, collections);
            }
        }
    }

    private sealed record Recorded(IReadOnlyList<string> Values, IReadOnlyList<string> Parents);

    private sealed class RecordingSource(RecordingProvider provider) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => provider;
    }

    private sealed class RecordingProvider : ConfigurationProvider
    {
        private readonly List<string> values = [];
        private readonly List<string> parents = [];

        public Recorded Take()
        {
            lock (values)
            {
                var recorded = new Recorded([.. values], [.. parents.Where(p => p.Length > 0)]);
                values.Clear();
                parents.Clear();
                return recorded;
            }
        }

        public override bool TryGet(string key, out string? value)
        {
            lock (values)
            {
                values.Add(key);
            }

            return base.TryGet(key, out value);
        }

        public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
        {
            lock (values)
            {
                parents.Add(parentPath ?? "");
            }

            return base.GetChildKeys(earlierKeys, parentPath);
        }
    }
}
