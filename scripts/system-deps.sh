#!/usr/bin/env bash
# Make sure the system parts the tests use are here: Debian's chromium and postgresql, Java
# (the Nu HTML checker), Node with npm (installs axe-core and the checker), and WebKitGTK's
# WebDriver with a virtual X server (tests/e2e/test_webkit.py: Safari's engine at 390×844).
# Installs what is missing when we are root with apt; otherwise says exactly what is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
{ command -v node && command -v npm; } >/dev/null 2>&1 || missing+=(nodejs npm)
# webkit2gtk-driver brings libwebkit2gtk-4.1-0, whose MiniBrowser is the browser it drives.
command -v WebKitWebDriver >/dev/null 2>&1 || missing+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null 2>&1 || missing+=(xvfb)
command -v xauth >/dev/null 2>&1 || missing+=(xauth)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing missing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  echo "Installed: ${missing[*]}"
else
  echo "Missing system packages: ${missing[*]}"
  echo "Install them with: sudo apt-get install ${missing[*]}"
  echo "Tests that need them will be skipped (or fail with EVENTMATE_REQUIRE_ALL=1)."
fi
