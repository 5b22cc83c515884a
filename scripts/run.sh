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

# The demo's work in progress, once: batch 1 (壮大贷 2025, 高新区) approved and exported, with a
# bank statement imported whose payment matches only by name and amount — a suggested match for
# the clerk to confirm; batch 2 (壮大贷 2025, 锦江区) in 公示.
if [ -z "$(psql "$DATABASE_URL" -qAt -c "SELECT 1 FROM batches LIMIT 1")" ]; then
  clerk() { SUBSIDY_PASSWORD=demo-clerk-pass "$bin" "$@" --user clerk >/dev/null; }
  approver() { SUBSIDY_PASSWORD=demo-approver-pass "$bin" "$@" --user approver >/dev/null; }
  clerk batch create --program zhuangda --year 2025 --district 高新区
  clerk batch compute 1
  clerk batch submit 1 --today 2026-01-05
  approver batch approve 1 --today 2026-01-20
  out=$(mktemp -d)
  clerk batch export 1 --out "$out"
  IFS='|' read -r payee amount <<< "$(psql "$DATABASE_URL" -qAt -c "SELECT payee_name, (amount_fen::numeric / 100)::numeric(16, 2) FROM batch_lines WHERE batch_id = 1 ORDER BY line_no LIMIT 1")"
  cat > "$out/statement.csv" <<CSV
账号：6222020000009999,户名：成都市财政局专精特新资金专户
交易日期,对方户名,对方账号,借方发生额,贷方发生额,余额,摘要,用途
$(date +%F),$payee,,$amount,,$(awk "BEGIN { printf \"%.2f\", 1000000 - $amount }"),转账支出,专精特新贴息
CSV
  clerk statement import "$out/statement.csv"
  clerk batch create --program zhuangda --year 2025 --district 锦江区
  clerk batch compute 2
  clerk batch submit 2
  rm -rf "$out"
fi

cat >&2 <<MSG

SubsidyLedger is starting on http://127.0.0.1:$port
  web:         http://127.0.0.1:$port/  — sign in as
                 clerk    / demo-clerk-pass     (经办人: batches, imports, statements)
                 approver / demo-approver-pass  (审批人: approves batch 2 once its 公示 is over)
                 auditor  / demo-auditor-pass   (审计员: audit log, ledger verify)
                 admin    / demo-admin-pass     (管理员: users, banks, tokens, budgets, policy, rehearsal date)
               batch 1 is exported with a statement to reconcile (a suggested match); batch 2 is in 公示
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
