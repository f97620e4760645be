using BenchmarkDotNet.Running;
using Sessions.Benchmarks;

// Run all: dotnet run -c Release --project bench/Sessions.Benchmarks -- --filter '*'
// Quick look: add --job short. Results land in BenchmarkDotNet.Artifacts/.
// Store calls per session access and per idle circuit (counted, not timed): -- --store-calls
if (args is ["--store-calls"])
{
    await StoreCalls.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
