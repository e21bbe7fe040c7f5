#!/usr/bin/env bash
# Resident memory of a real `vigil up` node while the same feed is imported again and again
# through `vigil feed import` (issue 15). Prints VmRSS of the node after each import, then the
# ratio of the last to the first and the node's peak (VmHWM).
#
#   scripts/bench-import-rss.sh [--vigil BIN] [--kind KIND] [--feed FILE] [--imports N]
#                               [--new-sources] [--settle SECONDS]
#
# Defaults: the `vigil` of $CARGO_TARGET_DIR/release (else target/release), MetaMask's
# eth-phishing-detect config.json from ../shared/data (14,905 names), 20 imports, 1 s settle.
# --new-sources imports under a new source name each time (the book grows; not the target
# case). Set MALLOC_ARENA_MAX etc. in the environment to compare allocator settings.
set -euo pipefail
cd "$(dirname "$0")/.."

vigil="${CARGO_TARGET_DIR:-target}/release/vigil"
kind=metamask
feed=../shared/data/metamask-eth-phishing-detect/config.json
imports=20
new_sources=0
settle=1
while [ $# -gt 0 ]; do
  case "$1" in
    --vigil) vigil="$2"; shift 2 ;;
    --kind) kind="$2"; shift 2 ;;
    --feed) feed="$2"; shift 2 ;;
    --imports) imports="$2"; shift 2 ;;
    --new-sources) new_sources=1; shift ;;
    --settle) settle="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$vigil" ] || { echo "no vigil binary at $vigil (cargo build --release -p vigil-node --bin vigil)" >&2; exit 1; }
[ -f "$feed" ] || { echo "no feed file at $feed" >&2; exit 1; }

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
RUST_LOG=warn "$vigil" up --data "$data" --listen "127.0.0.1:$port" --no-demo >"$data/up.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

for _ in $(seq 1 200); do
  curl -fs "$url/v1/status" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$url/v1/status" >/dev/null || { echo "node did not start:"; cat "$data/up.log"; exit 1; }

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$pid/status"; }

sleep "$settle"
start=$(rss)
echo "vigil: $vigil"
echo "feed:  $feed ($kind), $imports imports, new sources: $new_sources, settle ${settle}s"
echo "node RSS before any import: $((start / 1024)) MiB"
first=0
for i in $(seq 1 "$imports"); do
  source="bench"
  [ "$new_sources" = 1 ] && source="bench$i"
  t0=$(date +%s.%N)
  "$vigil" --node "$url" --json feed import "$kind" "$feed" --source "$source" \
    --admin-token-file "$data/admin.token" >"$data/import.json"
  t1=$(date +%s.%N)
  sleep "$settle"
  now=$(rss)
  [ "$i" = 1 ] && first=$now
  changed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["changed"])' "$data/import.json")
  printf 'import %2d  changed=%-5s  %5.2f s  RSS %6.1f MiB\n' "$i" "$changed" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "scale=1; $now / 1024" | bc)"
done
last=$(rss)
printf 'RSS after import 1: %.1f MiB, after import %d: %.1f MiB, ratio %.2f; peak (VmHWM) %.1f MiB\n' \
  "$(echo "scale=1; $first / 1024" | bc)" "$imports" "$(echo "scale=1; $last / 1024" | bc)" \
  "$(echo "scale=3; $last / $first" | bc)" "$(echo "scale=1; $(hwm) / 1024" | bc)"
