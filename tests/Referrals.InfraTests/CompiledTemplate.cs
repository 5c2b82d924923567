using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Referrals.InfraTests;

/// <summary>
/// infra/main.bicep as ARM JSON (bicep build), with its modules' resources flattened: what Azure would be asked to
/// create, read from the compiler's output rather than from the Bicep text.
/// </summary>
internal sealed partial class CompiledTemplate
{
    private static readonly Lazy<CompiledTemplate> Built = new(() =>
    {
        var (result, directory) = BicepCli.BuildAll();
        var main = Path.Combine(directory, "main.json");
        if (result.ExitCode != 0 || !File.Exists(main))
        {
            throw new InvalidOperationException($"bicep build of infra/ failed:\n{result}");
        }

        return new CompiledTemplate(JsonNode.Parse(File.ReadAllText(main))!.AsObject());
    });

    public static CompiledTemplate Main => Built.Value;

    public JsonObject Root { get; }

    /// <summary>Every resource, each with the (module) template that declares it.</summary>
    public IReadOnlyList<(JsonObject Resource, JsonObject Template)> Resources { get; }

    private CompiledTemplate(JsonObject root)
    {
        Root = root;
        var all = new List<(JsonObject, JsonObject)>();
        Collect(root, all);
        Resources = all;
    }

    public IEnumerable<(JsonObject Resource, JsonObject Template)> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r.Resource["type"], type, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The names a resource declaration creates: its last name segment, or each item of the variable its copy loop
    /// runs over (variables('x')[copyIndex()]).
    /// </summary>
    public static IReadOnlyList<string> NamesOf(JsonObject resource, JsonObject template)
    {
        var name = (string)resource["name"]!;
        if (!name.StartsWith('['))
        {
            return [name.Split('/')[^1]];
        }

        if (LoopOverVariable().Match(name) is { Success: true } loop)
        {
            return template["variables"]![loop.Groups[1].Value]!.AsArray().Select(n => (string)n!).ToList();
        }

        if (LiteralLastSegment().Match(name) is { Success: true } literal)
        {
            return [literal.Groups[1].Value];
        }

        throw new InvalidOperationException($"Cannot read the name {name} of a {resource["type"]}; declare it with a literal or a loop over a variable.");
    }

    /// <summary>Every string literal in an ARM expression (or the plain value when it is not one).</summary>
    public static IEnumerable<string> StringLiterals(string expression) =>
        expression.StartsWith('[')
            ? Literal().Matches(expression).Select(m => m.Groups[1].Value.Replace("''", "'", StringComparison.Ordinal))
            : [expression];

    private static void Collect(JsonObject template, List<(JsonObject, JsonObject)> into)
    {
        // Templates with symbolic names (languageVersion 2.0) keep resources in an object, others in an array.
        var resources = template["resources"] switch
        {
            JsonArray array => array.Select(r => r!.AsObject()),
            JsonObject named => named.Select(p => p.Value!.AsObject()),
            _ => [],
        };
        foreach (var resource in resources)
        {
            into.Add((resource, template));
            if ((string?)resource["type"] == "Microsoft.Resources/deployments" && resource["properties"]?["template"] is JsonObject module)
            {
                Collect(module, into);
            }
        }
    }

    [GeneratedRegex(@"variables\('([^']+)'\)\[copyIndex\(\)\]\)\]$")]
    private static partial Regex LoopOverVariable();

    [GeneratedRegex(@"'([^']*)'\)\]$")]
    private static partial Regex LiteralLastSegment();

    [GeneratedRegex(@"'((?:[^']|'')*)'")]
    private static partial Regex Literal();
}
