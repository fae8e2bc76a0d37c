#!/usr/bin/env bash
# Run Bothy with fictional data: the demo sync server on embedded SQLite, and
# the app, enrolled with it, in a desktop window. Installs what it needs first.
#
# Three demo devices are enrolled: Morag Fraser (social worker, the default),
# Fiona MacLeod (team manager) and Kai Robertson (young person). Choose whose
# app opens with BOTHY_DEMO_AS=morag|fiona|kai. Without a display (no
# $DISPLAY or $WAYLAND_DISPLAY) the same app is served to your browser
# instead, on http://127.0.0.1:8471/. Closing the window (or Ctrl-C) stops
# the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo build --release --locked -p bothy-server -p bothy-client -p bothy-app \
  --features bothy-app/desktop,bothy-app/liveview
bin="$CARGO_TARGET_DIR/release"
work="${BOTHY_DEMO_DIR:-$(mktemp -d -t bothy-demo.XXXXXX)}"
listen="${BOTHY_DEMO_LISTEN:-127.0.0.1:8470}"
who="${BOTHY_DEMO_AS:-morag}"
codes="$work/enrolment-codes.txt"
: > "$codes"

"$bin/bothy-server" demo --listen "$listen" --db "sqlite://$work/server.db" > "$codes" &
server=$!
app=""
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

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
export BOTHY_PASSCODE="${BOTHY_PASSCODE:-demo-passcode}"
for person in Morag Fiona Kai; do
  code=$(awk -v p="$person" '$1 == "enrol" && $4 ~ "^" p { print $5; exit }' "$codes")
  dir="$work/$(echo "$person" | tr '[:upper:]' '[:lower:]')"
  "$bin/bothy" --data "$dir" enrol --server "http://$listen" --code "$code" >/dev/null
  "$bin/bothy" --data "$dir" sync >/dev/null
  echo "Enrolled $person's device in $dir"
done

cat <<TXT

Bothy's demo server is running on http://$listen (data in $work).
Every demo device's passcode is: $BOTHY_PASSCODE
Opening ${who}'s app. Others: BOTHY_DEMO_AS=fiona (team manager) or
BOTHY_DEMO_AS=kai (young person) scripts/demo.sh, or in another terminal:
  $bin/bothy-desktop --data $work/fiona
The command line works on the same devices too, e.g.:
  BOTHY_PASSCODE=$BOTHY_PASSCODE $bin/bothy --data $work/morag caseload
TXT

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  "$bin/bothy-desktop" --data "$work/$who" &
  app=$!
  wait "$app"
else
  echo
  echo "No display here: open http://127.0.0.1:8471/ in a browser (Ctrl-C stops the demo)."
  "$bin/bothy-liveview" --data "$work/$who" --listen 127.0.0.1:8471 &
  app=$!
  wait "$app"
fi
