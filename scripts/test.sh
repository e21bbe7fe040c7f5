#!/usr/bin/env bash
# Runs every Vigil test. Installs what the tests need when it is missing:
#   - anvil (npm @foundry-rs/anvil) for tests against a real local EVM chain;
#   - a Python venv with taxii2-client, stix2 and stix2-validator for STIX/TAXII interop tests,
#     medallion (the OASIS TAXII 2.1 reference server) that `vigil feed pull` is tested against,
#     aiosmtpd (an SMTP server for the email channel), pymisp (loads Vigil's MISP feeds)
#     and schemathesis, which fuzzes a live node from its OpenAPI description;
#   - Debian's Chromium (apt) and npm playwright-core, which drives it (no browser download),
#     for the dashboard's browser test.
# Tools go to $VIGIL_TOOLS_DIR (default ~/.cache/vigil-tools), outside the checkout.
# Extra arguments are passed to `cargo test`, e.g. `scripts/test.sh -p vigil-core`.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${VIGIL_TOOLS_DIR:-$HOME/.cache/vigil-tools}"
ANVIL_VERSION=1.7.1
SCHEMATHESIS_VERSION=4.32.5
PLAYWRIGHT_VERSION=1.57.0
mkdir -p "$TOOLS"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_anvil() {
  local dir="$TOOLS/foundry-$ANVIL_VERSION"
  local bin="$dir/node_modules/.bin/anvil"
  if [ ! -x "$bin" ]; then
    command -v npm >/dev/null || { echo "npm is needed to install anvil (apt install npm)" >&2; exit 1; }
    log "installing anvil $ANVIL_VERSION (npm @foundry-rs/anvil) into $dir"
    npm install --silent --no-save --prefix "$dir" "@foundry-rs/anvil@$ANVIL_VERSION" >&2
  fi
  # The .bin entry is a Node.js wrapper; run the platform binary it would start (no Node
  # start-up per chain, and killing it stops anvil itself).
  local real
  real="$(find "$dir/node_modules/@foundry-rs" -path '*/bin/anvil' -type f -perm -u+x 2>/dev/null | head -n 1)"
  [ -n "$real" ] && bin="$real"
  "$bin" --version >/dev/null
  export VIGIL_ANVIL="$bin"
}

install_python_tools() {
  local venv="$TOOLS/venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import taxii2client, stix2, stix2validator, medallion' 2>/dev/null; then
    log "creating Python venv with taxii2-client, stix2, stix2-validator, medallion in $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet taxii2-client stix2 stix2-validator medallion >&2
  fi
  # aiosmtpd: the SMTP server the email alert channel is tested against; pymisp: MISP's own
  # library, which must load the MISP feeds Vigil writes.
  if ! "$venv/bin/python" -c 'import aiosmtpd, pymisp' 2>/dev/null; then
    log "installing aiosmtpd and pymisp into $venv"
    "$venv/bin/pip" install --quiet aiosmtpd pymisp >&2
  fi
  # Schemathesis, pinned: its command line changed between 3.x and 4.x.
  if [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    "$venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION" >&2
  fi
  export VIGIL_PYTHON="$venv/bin/python"
}

install_browser() {
  if ! command -v chromium >/dev/null; then
    command -v apt-get >/dev/null || { echo "Chromium is needed for the dashboard test (apt install chromium)" >&2; exit 1; }
    log "installing Chromium (apt)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y --no-install-recommends chromium >&2 \
      || { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends chromium >&2; }
  fi
  local dir="$TOOLS/playwright-$PLAYWRIGHT_VERSION"
  if [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
    log "installing playwright-core $PLAYWRIGHT_VERSION (npm) into $dir"
    npm install --silent --no-save --prefix "$dir" "playwright-core@$PLAYWRIGHT_VERSION" >&2
  fi
  export VIGIL_CHROMIUM="$(command -v chromium)"
  export VIGIL_PLAYWRIGHT="$dir/node_modules"
}

install_anvil
install_python_tools
install_browser
# Tests that need a tool fail (rather than skip) when this script has set it up.
export VIGIL_REQUIRE_TOOLS=1
log "anvil: $VIGIL_ANVIL"
log "python: $VIGIL_PYTHON"
log "chromium: $VIGIL_CHROMIUM, playwright-core in $VIGIL_PLAYWRIGHT"

log "cargo test --workspace"
cargo test --workspace "$@"
