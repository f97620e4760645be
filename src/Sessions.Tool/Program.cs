namespace Sessions.Tool;

/// <summary>The entry point of the <c>sessions</c> tool.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl+C stops the command between records; a second one ends the process.
            e.Cancel = !interrupt.IsCancellationRequested;
            interrupt.Cancel();
        };

        return await SessionsCli.RunAsync(args, Console.Out, Console.Error, interrupt.Token).ConfigureAwait(false);
    }
}
