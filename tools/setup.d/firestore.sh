# shellcheck shell=bash
# Google's Cloud Firestore emulator for tests/Sessions.Firestore.Tests and bench/Sessions.Firestore.Bench. The fixtures start
# their own emulator on a free loopback port (the emulator's JVM, started directly from the SDK's
# platform/cloud-firestore-emulator/cloud-firestore-emulator.jar, so a test's kill reaches it), so only the gcloud CLI,
# its firestore emulator component and a Java runtime (17 works, with a deprecation warning) are needed.
# Sourced by tools/setup.sh.
ensure_firestore() {
  local hint="install the Google Cloud CLI and its emulator: apt-get install google-cloud-cli google-cloud-cli-firestore-emulator (after adding Google's apt source, https://cloud.google.com/sdk/docs/install#deb), or 'gcloud components install cloud-firestore-emulator' for a non-apt gcloud"
  command -v gcloud >/dev/null || fail "gcloud not found; $hint"
  command -v java >/dev/null || fail "java not found; the Firestore emulator needs a Java runtime 17 or later (Debian: apt-get install openjdk-17-jre-headless)"
  local sdk emulator
  sdk=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)
  [[ -n $sdk ]] || sdk=/usr/lib/google-cloud-sdk
  emulator="$sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator"
  [[ -x $emulator ]] || fail "the Cloud Firestore emulator is not installed ($emulator is missing); $hint"
  log "firestore emulator: $emulator ($(dpkg-query -W -f='${Version}' google-cloud-cli-firestore-emulator 2>/dev/null || echo 'version unknown'))"
}
