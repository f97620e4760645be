# shellcheck shell=bash
# Browser tests (tests/Sessions.QuickStart.BrowserTests): Microsoft.Playwright drives Debian's Chromium at /usr/bin/chromium,
# because Playwright's own browser download cannot work here. Playwright's .NET driver is the node-based CLI shipped
# inside the NuGet package (.playwright/node/<platform>/node plus package/), so it needs no system Node.js; the driver
# checks below only run when the package is already in the NuGet cache. Sourced by tools/setup.sh.
ensure_chromium() {
  ensure_apt_package chromium
  [[ -x /usr/bin/chromium ]] || fail "/usr/bin/chromium is missing after installing the Debian package 'chromium'"
  log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"

  local nuget driver
  nuget=${NUGET_PACKAGES:-$HOME/.nuget/packages}
  driver=$(find "$nuget/microsoft.playwright" -path '*/.playwright/node/linux-x64/node' 2>/dev/null | head -n 1 || true)
  if [[ -n $driver ]]; then
    [[ -x $driver ]] || chmod +x "$driver"
    "$driver" --version >/dev/null || fail "Playwright's bundled node ($driver) does not run on this machine"
    log "playwright driver: node $("$driver" --version)"
  fi
}
