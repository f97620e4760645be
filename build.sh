#!/usr/bin/env bash
# Runs build.cake with the Cake version pinned in .config/dotnet-tools.json.
# Usage: ./build.sh [--target=Build|Test|Pack|Default] [--configuration=Release] [--filter=<dotnet test filter>]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

dotnet tool restore
dotnet cake build.cake "$@"
