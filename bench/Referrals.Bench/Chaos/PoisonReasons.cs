using System.Text.RegularExpressions;

namespace Referrals.Bench.Chaos;

/// <summary>
/// Why messages reached poison, from the DevHosts' output: the exception of each message's last logged failure before
/// the line that moved it. A message whose last attempts died with a killed host has no failure logged.
/// </summary>
internal static partial class PoisonReasons
{
    public const string NoFailureLogged = "no failure logged (its attempts ended with a killed host)";

    /// <summary>Per queue, each reason and how many messages it moved to poison.</summary>
    public static IReadOnlyList<(string Queue, string Reason, int Count)> Read(string work)
    {
        var lastFailure = new Dictionary<string, string>();
        var moved = new List<(string Queue, string Reason)>();
        foreach (var log in Directory.GetFiles(work, "devhost-*.log").Order())
        {
            var lines = File.ReadAllLines(log);
            for (var i = 0; i < lines.Length; i++)
            {
                if (Failed().Match(lines[i]) is { Success: true } failed)
                {
                    var exception = i + 1 < lines.Length ? ExceptionType().Match(lines[i + 1]) : Match.Empty;
                    lastFailure[failed.Groups["id"].Value] = exception.Success ? exception.Groups["type"].Value : "an exception";
                }
                else if (Moved().Match(lines[i]) is { Success: true } move)
                {
                    moved.Add((move.Groups["queue"].Value, lastFailure.GetValueOrDefault(move.Groups["id"].Value, NoFailureLogged)));
                }
            }
        }

        return moved.GroupBy(m => m).Select(g => (g.Key.Queue, g.Key.Reason, g.Count())).OrderBy(r => r.Queue).ToList();
    }

    [GeneratedRegex(@"Queue (?<queue>\S+): message (?<id>\S+) failed on attempt \d+")]
    private static partial Regex Failed();

    [GeneratedRegex(@"Queue (?<queue>\S+): message (?<id>\S+) (moved to the poison queue|is not valid Base64)")]
    private static partial Regex Moved();

    [GeneratedRegex(@"^\s+(?<type>[\w.]+(Exception|Error))\b")]
    private static partial Regex ExceptionType();
}
