# shellcheck shell=bash
# Time zone data for the Test target's non-UTC run of the kit (TZ=America/New_York, build.cake's __TestTimeZone):
# without it .NET would silently run that pass under UTC.
ensure_tzdata() {
  ensure_apt_package tzdata
  [[ -f /usr/share/zoneinfo/America/New_York ]] || fail "tzdata is installed but /usr/share/zoneinfo/America/New_York is missing"
  log "tzdata: $(dpkg-query -W -f='${Version}' tzdata)"
}
