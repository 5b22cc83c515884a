#!/usr/bin/env bash
# The browser suite: drives headless Chromium (Debian's chromium and chromium-driver, Selenium
# from PyPI; no browser download) through the whole journey of the web application on a real
# server and a real database. Installs what it needs. scripts/test.sh calls it with its
# throwaway cluster; screenshots of the main pages land in .build/browser-screenshots/.
#
#   scripts/browser.sh            (DATABASE_URL and DATABASE_OWNER_URL: the cluster to use)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

: "${DATABASE_URL:?browser.sh needs DATABASE_URL (the service's login)}"
: "${DATABASE_OWNER_URL:?browser.sh needs DATABASE_OWNER_URL (the schema owner's login)}"

# Debian's Chromium, its driver and CJK fonts (pages are Chinese), once per machine.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi
# Selenium and openpyxl (to open the exported .xlsx) in the build folder's virtual environment.
venv="$here/.build/browser-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import selenium, openpyxl" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "selenium==4.27.1" "openpyxl==3.1.5"
fi

# shellcheck source=scripts/scratch.sh
. "$here/scripts/scratch.sh"
scratch_database browser
SUBSIDY_NEW_PASSWORD=browser-admin-pass "$bin" init --admin admin --name 系统管理员 --rehearsal --database-url "$service_db" >/dev/null
# The firm registry and the partner bank: reference data that exists before anyone signs in.
psql "$owner_db" -q -v ON_ERROR_STOP=1 -f scripts/browser/registry.sql

scratch_serve

shots="$here/.build/browser-screenshots"
rm -rf "$shots" && mkdir -p "$shots"
echo "browser.sh: Chromium $(chromium --version 2>/dev/null | awk '{print $2}') against http://127.0.0.1:$port/ (screenshots: $shots)"
BASE_URL="http://127.0.0.1:$port" SCREENSHOTS="$shots" DATABASE_URL="$service_db" \
  "$venv/bin/python" scripts/browser/journey.py "$@"
