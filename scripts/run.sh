#!/usr/bin/env bash
# Runs SubsidyLedger locally: makes sure PostgreSQL is there (DATABASE_URL, else the project's own
# cluster in .pg/, installing PostgreSQL if needed), builds, migrates, loads the demo data, and
# serves on http://127.0.0.1:8080 (PORT to change). Ctrl-C stops the service; `scripts/pg.sh stop`
# stops the cluster.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

[ -n "${DATABASE_URL:-}" ] && DATABASE_URL_WAS_SET=1
url=$(scripts/pg.sh start)
# Migrations and the demo's reference data run as the schema's owner; the service as its own role.
# (With DATABASE_URL set, DATABASE_OWNER_URL comes from the environment too.)
owner_url=$(scripts/pg.sh url --owner)
export DATABASE_URL="$url" DATABASE_OWNER_URL="$owner_url"
port=${PORT:-8080}

echo "run.sh: building (the first build takes a few minutes)…" >&2
swift build --product subsidy >&2
bin="$(swift build --show-bin-path)/subsidy"

"$bin" migrate
psql "$DATABASE_OWNER_URL" -q -v ON_ERROR_STOP=1 -f scripts/demo/demo.sql
# A rehearsal database (demo dates may be chosen with --today) and its administrator, once; then
# the demo users (passwords are for this local demo only; hashed with bcrypt like any other).
if [ -z "$(psql "$DATABASE_URL" -qAt -c "SELECT 1 FROM installation")" ]; then
  SUBSIDY_NEW_PASSWORD=demo-admin-pass "$bin" init --admin admin --name 系统管理员 --rehearsal >/dev/null
fi
for spec in "clerk:clerk:王会计" "approver:approver:李处长" "auditor:auditor:审计员"; do
  IFS=: read -r login role name <<< "$spec"
  if [ -z "$(psql "$DATABASE_URL" -qAt -c "SELECT 1 FROM users WHERE login = '$login'")" ]; then
    SUBSIDY_PASSWORD=demo-admin-pass SUBSIDY_NEW_PASSWORD="demo-$login-pass" "$bin" user add "$login" --name "$name" --role "$role" --user admin >/dev/null
  fi
done

# A demo API token for ICBC, created once and kept in the git-ignored cluster folder.
token_file="$(readlink -f .pg)/demo-icbc-token"
if [ -n "${DATABASE_URL_WAS_SET:-}" ]; then token_file=$(mktemp); fi
if [ ! -s "$token_file" ]; then
  SUBSIDY_PASSWORD=demo-admin-pass "$bin" bank token create ICBC --label "demo (scripts/run.sh)" --user admin | tail -1 > "$token_file"
fi
token=$(cat "$token_file")

cat >&2 <<MSG

SubsidyLedger is starting on http://127.0.0.1:$port
  health:      curl http://127.0.0.1:$port/health
  calculator:  curl -s -X POST --data-binary @scripts/demo/calc-zhuangda.json http://127.0.0.1:$port/v1/calculate
  command line: $bin calc scripts/demo/calc-zhuangda.json --format text
  database:    DATABASE_URL=${DATABASE_URL%%:*}://… (scripts/pg.sh url prints it)
  bank API:    http://127.0.0.1:$port/openapi.yaml (the contract)
               curl -H "Authorization: Bearer $token" http://127.0.0.1:$port/v1/loans
  reconcile:   drop MT940 / camt.053 / CSV statements into var/inbox (the daemon imports them),
               then $bin report reconciliation --batch 1 --format html --out report.html
  demo users:  clerk / demo-clerk-pass, approver / demo-approver-pass, auditor / demo-auditor-pass, admin / demo-admin-pass
               (a rehearsal database: --today may date an action; a real one refuses it)
  a batch:     export DATABASE_URL=\$(scripts/pg.sh url)
               SUBSIDY_PASSWORD=demo-clerk-pass $bin batch create --program zhuangda --year 2025 --user clerk
               SUBSIDY_PASSWORD=demo-clerk-pass $bin batch compute 1 --user clerk
               $bin batch show 1 --explain
MSG
# The HTTP service and the reconciliation daemon (inbox: var/inbox, git-ignored) in one process.
mkdir -p var/inbox
exec "$bin" serve --host 127.0.0.1 --port "$port" --no-migrate --inbox var/inbox
