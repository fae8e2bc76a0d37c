#!/usr/bin/env bash
# Run every Bothy test: formatting, lints, the unit, property, robustness,
# policy, device and end-to-end tests. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== PostgreSQL (the server's tests run on SQLite and PostgreSQL)"
# Trust authentication on 127.0.0.1:5432, as the tests expect (BOTHY_PG_URL
# overrides where they look).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432

echo "== cargo test"
cargo test --workspace --locked
