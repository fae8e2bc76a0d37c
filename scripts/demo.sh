#!/usr/bin/env bash
# Run Bothy with fictional data: the demo sync server on embedded SQLite, and
# a headless device enrolled as Morag Fraser (social worker) that syncs and
# shows her caseload. Installs what it needs first. The server keeps running
# until Ctrl-C; try more `bothy` commands against it from another terminal
# (printed below).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo build --release --locked -p bothy-server -p bothy-client
bin="$CARGO_TARGET_DIR/release"
work="${BOTHY_DEMO_DIR:-$(mktemp -d -t bothy-demo.XXXXXX)}"
listen="${BOTHY_DEMO_LISTEN:-127.0.0.1:8470}"
codes="$work/enrolment-codes.txt"
: > "$codes"

"$bin/bothy-server" demo --listen "$listen" --db "sqlite://$work/server.db" > "$codes" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT INT TERM

# Wait (bounded) for the server to answer, not for a fixed time.
for _ in $(seq 1 300); do
  if curl -fsS "http://$listen/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "the demo server stopped; see above" >&2; exit 1; fi
  # A short pause between polls; readiness is decided by /health.
  sleep 0.1
done
curl -fsS "http://$listen/health" >/dev/null

echo "Demo people (role, agency, name, one-time enrolment code):"
cat "$codes"
code=$(awk '$1 == "enrol" && $4 ~ /^Morag/ { print $5; exit }' "$codes")
export BOTHY_PASSCODE="${BOTHY_PASSCODE:-demo-passcode}"
"$bin/bothy" --data "$work/morag" enrol --server "http://$listen" --code "$code"
"$bin/bothy" --data "$work/morag" sync
"$bin/bothy" --data "$work/morag" caseload
cat <<TXT

Bothy's demo server is running on http://$listen (data in $work).
Morag's device is enrolled (passcode: \$BOTHY_PASSCODE). Try:
  BOTHY_PASSCODE=$BOTHY_PASSCODE $bin/bothy --data $work/morag show Kai
  BOTHY_PASSCODE=$BOTHY_PASSCODE $bin/bothy --data $work/morag visit --child Kai --text "Kai was up and ready for school" --seen --finalise
  BOTHY_PASSCODE=$BOTHY_PASSCODE $bin/bothy --data $work/morag sync
Enrol another device with one of the codes above. Press Ctrl-C to stop the server.
TXT
wait "$server"
