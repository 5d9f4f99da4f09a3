#!/usr/bin/env bash
# Debian packages the test suite runs for real: Prometheus Alertmanager (alert routing tests), Prometheus and
# promtool (scraping, dashboard queries, rule checks), Chromium (the status page, headless).
# Installs what is missing (as root, or with sudo); says what to do otherwise.
set -euo pipefail
missing=()
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "test-deps: please install ${missing[*]} (apt-get install ${missing[*]}); the tests run them for real" >&2
  exit 2
fi
echo "test-deps: installing ${missing[*]} from Debian"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
