#!/usr/bin/env bash
# Install, once, what building and testing Bothy needs on Debian: a C toolchain
# for SQLCipher's vendored OpenSSL, the sqlite3 CLI (the no-plaintext test
# proves it cannot read the database), PostgreSQL if missing (the sync
# server's tests run on it too), the desktop app's libraries (webkit2gtk,
# GTK), Xvfb and ImageMagick (the desktop start-up test), Chromium, Node.js
# and the browser tests' npm packages (Playwright, axe-core), Rust if
# missing. Idempotent: installs only what is missing, so repeated runs cost
# a few dpkg queries.
set -euo pipefail

need=()
for pkg in build-essential pkg-config perl make sqlite3 ca-certificates curl \
  libwebkit2gtk-4.1-dev libgtk-3-dev libxdo-dev libssl-dev \
  libayatana-appindicator3-dev librsvg2-dev \
  xvfb xauth imagemagick chromium poppler-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# PostgreSQL for the sync server's second backend, unless the machine has it.
pg_fresh=0
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  dpkg -s postgresql >/dev/null 2>&1 || { need+=(postgresql); pg_fresh=1; }
fi
# Node.js and npm for the browser tests, unless the machine has them.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
for pkg in ${BOTHY_EXTRA_PACKAGES:-}; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  if [ "$pg_fresh" -eq 1 ]; then
    # A cluster this script installed serves the tests: trust loopback
    # connections (postgres://postgres@127.0.0.1:5432), as on CI.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      grep -q '^host all all 127.0.0.1/32 trust' "$hba" ||
        $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
      version=$(basename "$(dirname "$(dirname "$hba")")")
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
    done
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# Builds live outside the clone so a fresh clone rebuilds only what changed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bothy-target}"
mkdir -p "$CARGO_TARGET_DIR"

# The browser tests' packages, exactly as locked (Chromium itself is Debian's).
setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f "$setup_root/tests/browser/node_modules/.package-lock.json" ] ||
  [ "$setup_root/tests/browser/package-lock.json" -nt "$setup_root/tests/browser/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tests/browser"
  (cd "$setup_root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
