#!/usr/bin/env bash
# Installs what the tests need, idempotently, so it is safe on every test run (build.cake's Test
# target runs it first). Written for Debian 12, as root or with sudo; apt is only touched when a
# package is missing.
#
# SESSIONS_SETUP lists what to ensure, separated by spaces or commas: "all" (the default), "none",
# or names from KNOWN, e.g. SESSIONS_SETUP=dotnet tools/setup.sh
#
# To add a server: drop tools/setup.d/<name>.sh defining ensure_<name>() (usually one
# ensure_apt_package call); every file there is sourced and its name added to KNOWN.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KNOWN="dotnet"

log() { echo "setup: $*"; }
fail() { echo "setup: $*" >&2; exit 1; }

# apt-get as root, through sudo when not root; never prompts.
apt_get() {
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
  fi
}

# ensure_apt_package PKG...: installs the packages that are not installed yet;
# runs `apt-get update` at most once per run, and only when something is missing.
apt_updated=false
ensure_apt_package() {
  local pkg missing=()
  for pkg in "$@"; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      log "$pkg: installed"
    else
      missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  if [[ $apt_updated == false ]]; then
    apt_get update -qq
    apt_updated=true
  fi
  log "installing ${missing[*]}"
  apt_get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_dotnet() {
  command -v dotnet >/dev/null || fail "dotnet not found; install the .NET SDK that global.json pins"
  log "dotnet: SDK $(dotnet --version)"
}

for file in "$HERE"/setup.d/*.sh; do
  [[ -e $file ]] || continue
  # shellcheck source=/dev/null
  source "$file"
  KNOWN="$KNOWN $(basename "$file" .sh)"
done

selected=${SESSIONS_SETUP:-all}
case $selected in
  all) selected=$KNOWN ;;
  none) selected="" ;;
esac

for name in ${selected//,/ }; do
  [[ " $KNOWN " == *" $name "* ]] || fail "unknown name '$name' in SESSIONS_SETUP (known: $KNOWN, all, none)"
  "ensure_$name"
done
log "done (${selected:-nothing to ensure})"
