#!/usr/bin/env bash
# Records the public API of packages in their PublicAPI.Unshipped.txt (Microsoft.CodeAnalysis.PublicApiAnalyzers):
# adds lines for new public members (RS0016) and removes lines of members that are gone (RS0017).
# Usage: tools/update-public-api.sh [src/Sessions.X ...]     (default: every project under src/)
# Creates PublicAPI.Shipped.txt / PublicAPI.Unshipped.txt (with '#nullable enable') for a new package.
# On a release, move the lines of Unshipped into Shipped (keep the '#nullable enable' first line in both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
projects=("$@")
if [ ${#projects[@]} -eq 0 ]; then
    projects=(src/*/)
fi

for dir in "${projects[@]}"; do
    dir="${dir%/}"
    csproj=$(ls "$dir"/*.csproj)
    for file in PublicAPI.Shipped.txt PublicAPI.Unshipped.txt; do
        [ -f "$dir/$file" ] || printf '#nullable enable\n' > "$dir/$file"
    done
    echo "== $csproj"
    dotnet format analyzers "$csproj" --diagnostics RS0016 RS0017 --severity warn -v q
done
