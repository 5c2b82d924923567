using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Referrals.IntegrationTests;

/// <summary>
/// Reads every log record of every host the suite starts and writes down any that carries an email address, a phone
/// number, a personal field, or the urgent flag next to a reference. ./test.sh fails the run on any such line, so the
/// rule "ids, never personal or health data" is checked over the whole suite, not only in the tests that look.
/// </summary>
public sealed partial class SuiteLogGuard : ILoggerProvider
{
    /// <summary>Set by ./test.sh; without it the findings go to a temporary folder and only the test asserting on them sees them.</summary>
    public const string FolderVariable = "REFERRALS_LOG_SCAN";

    private static readonly string Folder = Environment.GetEnvironmentVariable(FolderVariable) is { Length: > 0 } folder
        ? folder
        : Path.Combine(Path.GetTempPath(), "referrals-log-scan-" + Environment.ProcessId);

    private static readonly string[] PersonalFields = ["Name", "Email", "Phone", "Message", "Insurance", "Treatment", "Urgent", "Address", "ClientAddress"];
    private static readonly Lock Gate = new();
    private static long scanned;

    public static string ViolationsFile => Path.Combine(Folder, "violations.txt");

    public static long Scanned => Interlocked.Read(ref scanned);

    public ILogger CreateLogger(string categoryName) => new Guard(categoryName);

    public void Dispose()
    {
        lock (Gate)
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllText(Path.Combine(Folder, "scanned.txt"), Scanned.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Why a record breaks the rule, or null when it is fine.</summary>
    public static string? Violation(string message, IEnumerable<KeyValuePair<string, object?>> state, Exception? exception)
    {
        var text = message + " " + exception;
        if (EmailAddress().IsMatch(text))
        {
            return "an email address";
        }

        if (PhoneNumber().IsMatch(text))
        {
            return "a phone number";
        }

        var fields = state.Where(p => p.Value is not null && PersonalFields.Contains(p.Key, StringComparer.OrdinalIgnoreCase)).Select(p => p.Key).ToList();
        if (fields.Count > 0)
        {
            return $"a personal field ({string.Join(", ", fields)})";
        }

        return text.Contains("urgent", StringComparison.OrdinalIgnoreCase) && Reference().IsMatch(text) ? "the urgent flag next to a reference" : null;
    }

    private sealed class Guard(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Interlocked.Increment(ref scanned);
            var message = formatter(state, exception);
            var pairs = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
            if (Violation(message, pairs, exception) is { } why)
            {
                lock (Gate)
                {
                    Directory.CreateDirectory(Folder);
                    File.AppendAllText(ViolationsFile, $"{category} [{logLevel}] carries {why}: {message.ReplaceLineEndings(" ")}{Environment.NewLine}");
                }
            }
        }
    }

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")]
    private static partial Regex EmailAddress();

    [GeneratedRegex(@"\+\d{10,15}\b|\(\d{3}\)\s?\d{3}-\d{4}|\b\d{3}[-. ]\d{3}[-. ]\d{4}\b")]
    private static partial Regex PhoneNumber();

    [GeneratedRegex(@"R-[0-9A-Z]{5}-[0-9A-Z]{5}")]
    private static partial Regex Reference();
}
