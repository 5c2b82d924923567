using System.Globalization;

namespace Referrals.Bench.Pipeline;

/// <summary>Parses the runs' option values, naming the option and bench/README.md when one is bad.</summary>
internal static class OptionValues
{
    public static int Int(string name, string value, int min) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min ? n : throw Bad(name, value);

    /// <summary>A share from 0 to 1.</summary>
    public static double Share(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d is >= 0 and <= 1 ? d : throw Bad(name, value);

    /// <summary>A duration as hh:mm:ss; zero only when <paramref name="allowZero"/>.</summary>
    public static TimeSpan Time(string name, string value, bool allowZero = true) =>
        TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var t) && (t > TimeSpan.Zero || (allowZero && t == TimeSpan.Zero)) ? t : throw Bad(name, value);

    public static BenchFailure Bad(string name, string value) => new($"Bad value for {name}: {value} (see bench/README.md).");
}
