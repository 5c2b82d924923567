using System.Diagnostics;

namespace Referrals.Bench.Pipeline;

/// <summary>A run's clock, its progress lines on stderr, and the step a passed time limit names.</summary>
internal sealed class RunProgress
{
    public Stopwatch Clock { get; } = new();

    public string CurrentStep { get; private set; } = "starting";

    public void Write(string message) => Console.Error.WriteLine($"[{Clock.Elapsed.TotalSeconds,5:F0} s] {message}");

    public void Step(string message)
    {
        CurrentStep = message;
        Write(message);
    }
}
