#!/usr/bin/env bash
# Records the public API of packages (Microsoft.CodeAnalysis.PublicApiAnalyzers): builds each project, adds the members
# the analyzer reports as undeclared (RS0016) to PublicAPI.Unshipped.txt, and deletes the lines of members that are gone
# (RS0017) from PublicAPI.Unshipped.txt / PublicAPI.Shipped.txt; then builds again to show that nothing is left.
# Usage: tools/update-public-api.sh [src/Sessions.X ...]     (default: every project under src/)
# A new package gets both files (first line '#nullable enable'). On a release, move Unshipped's lines into Shipped.
# Review the diff: it is the change of the public surface.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
projects=("$@")
if [ ${#projects[@]} -eq 0 ]; then
    projects=(src/*/)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

build() {
    # Errors in one list, without the summary that repeats them. Exit code ignored: RS0016/RS0017 fail the build.
    dotnet build "$1" -c Release -nologo -v q -clp:NoSummary -p:TreatWarningsAsErrors=true > "$log" 2>&1 || true
}

for dir in "${projects[@]}"; do
    dir="${dir%/}"
    csproj=$(ls "$dir"/*.csproj)
    echo "== $csproj"
    for file in PublicAPI.Shipped.txt PublicAPI.Unshipped.txt; do
        [ -f "$dir/$file" ] || printf '#nullable enable\n' > "$dir/$file"
    done

    build "$csproj"
    # Only this project's diagnostics (a referenced project is fixed by its own run).
    mine="[$(cd "$dir" && pwd)/$(basename "$csproj")]"
    added=$(grep -F "$mine" "$log" | grep -oP "error RS0016: Symbol '\K.*(?=' is not part of the declared public API)" | sort -u || true)
    removed=$(grep -F "$mine" "$log" | grep -oP "error RS0017: Symbol '\K.*(?=' is part of the declared API, but)" | sort -u || true)

    if [ -n "$added" ]; then
        { grep -v '^#nullable enable' "$dir/PublicAPI.Unshipped.txt" || true; printf '%s\n' "$added"; } | sort -u > "$log.lines"
        { echo '#nullable enable'; cat "$log.lines"; } > "$dir/PublicAPI.Unshipped.txt"
        echo "   added $(printf '%s\n' "$added" | wc -l) line(s) to PublicAPI.Unshipped.txt"
    fi

    if [ -n "$removed" ]; then
        # Gone before a release (listed in Unshipped): the line goes. Gone after one (listed in Shipped): the analyzer's
        # convention, a '*REMOVED*' line in Unshipped, so the removal shows until the next release.
        while IFS= read -r line; do
            if grep -qxF -- "$line" "$dir/PublicAPI.Unshipped.txt"; then
                grep -vxF -- "$line" "$dir/PublicAPI.Unshipped.txt" > "$log.lines" || true
                cp "$log.lines" "$dir/PublicAPI.Unshipped.txt"
            else
                printf '*REMOVED*%s\n' "$line" >> "$dir/PublicAPI.Unshipped.txt"
            fi
        done <<< "$removed"
        echo "   recorded $(printf '%s\n' "$removed" | wc -l) removed member(s)"
    fi
    rm -f "$log.lines"

    if [ -n "$added$removed" ]; then
        build "$csproj"
    fi

    if grep -q " error " "$log"; then
        grep " error " "$log" | sort -u | head -20
        echo "   $csproj still has errors (above)" >&2
        exit 1
    fi
done
