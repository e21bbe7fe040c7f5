#!/usr/bin/env bash
# Regenerate crates/chain/contracts/out/*.json from crates/chain/contracts/src/**/*.sol.
#
# Needs only node + npm. Installs pinned solc (solcjs) and @openzeppelin/contracts
# under $VIGIL_TOOLS_DIR (default: $HOME/.cache/vigil-tools), outside the repo,
# then compiles offline with the optimizer on and evmVersion=cancun. Writes one
# small JSON artifact per deployable contract:
#   {contractName, abi, bytecode, deployedBytecode, compiler, sourceHash}
# where sourceHash = sha256 (hex) of the .sol file that defines the contract.
# No CBOR metadata is appended, so output is byte-for-byte reproducible.
#
# Usage:
#   scripts/build-contracts.sh          # (re)write out/
#   scripts/build-contracts.sh --check  # compile to a temp dir, fail if out/ differs
set -euo pipefail

SOLC_VERSION="0.8.37"
OZ_VERSION="5.4.0"
EVM_VERSION="cancun"
OPTIMIZER_RUNS=200

die() { echo "build-contracts: error: $*" >&2; exit 1; }

MODE="write"
case "${1:-}" in
  "") ;;
  --check) MODE="check" ;;
  *) die "unknown argument '$1' (expected nothing or --check)" ;;
esac

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTRACTS_DIR="$REPO_ROOT/crates/chain/contracts"
SRC_DIR="$CONTRACTS_DIR/src"
OUT_DIR="$CONTRACTS_DIR/out"
[ -d "$SRC_DIR" ] || die "no source dir $SRC_DIR"

command -v node >/dev/null || die "node not found (needed to run solcjs)"
command -v npm >/dev/null || die "npm not found (needed to install solc)"

TOOLS_ROOT="${VIGIL_TOOLS_DIR:-$HOME/.cache/vigil-tools}"
TOOLS="$TOOLS_ROOT/solc-$SOLC_VERSION-oz-$OZ_VERSION"

installed_version() { # $1 = package name; prints version or nothing
  local pj="$TOOLS/node_modules/$1/package.json"
  [ -f "$pj" ] && node -e 'process.stdout.write(require(process.argv[1]).version)' "$pj" || true
}

if [ "$(installed_version solc)" != "$SOLC_VERSION" ] || \
   [ "$(installed_version @openzeppelin/contracts)" != "$OZ_VERSION" ]; then
  echo "build-contracts: installing solc@$SOLC_VERSION and @openzeppelin/contracts@$OZ_VERSION into $TOOLS" >&2
  mkdir -p "$TOOLS"
  [ -f "$TOOLS/package.json" ] || echo '{"name":"vigil-solc-tools","private":true}' > "$TOOLS/package.json"
  npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact \
    "solc@$SOLC_VERSION" "@openzeppelin/contracts@$OZ_VERSION" >&2 \
    || die "npm install failed"
  [ "$(installed_version solc)" = "$SOLC_VERSION" ] || die "solc $SOLC_VERSION not installed correctly"
  [ "$(installed_version @openzeppelin/contracts)" = "$OZ_VERSION" ] || die "OpenZeppelin $OZ_VERSION not installed correctly"
fi

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/vigil-contracts.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

NODE_PATH="$TOOLS/node_modules" SRC_DIR="$SRC_DIR" STAGE="$STAGE" \
SOLC_VERSION="$SOLC_VERSION" EVM_VERSION="$EVM_VERSION" OPTIMIZER_RUNS="$OPTIMIZER_RUNS" \
OZ_DIR="$TOOLS/node_modules/@openzeppelin/contracts" \
node - <<'NODE'
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const solc = require("solc");

const { SRC_DIR, STAGE, SOLC_VERSION, EVM_VERSION, OPTIMIZER_RUNS, OZ_DIR } = process.env;

const fail = (msg) => { console.error("build-contracts: error: " + msg); process.exit(1); };

const version = solc.version(); // e.g. 0.8.37+commit.f401782d.Emscripten.clang
if (!version.startsWith(SOLC_VERSION + "+")) fail(`loaded solc ${version}, expected ${SOLC_VERSION}`);
const compiler = version.replace(/\.Emscripten\.clang$/, "");

// Collect src/**/*.sol; source unit names are "src/<relative path>".
const sources = {};
const hashes = {};
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".sol")) {
      const unit = "src/" + path.relative(SRC_DIR, p).split(path.sep).join("/");
      const bytes = fs.readFileSync(p);
      sources[unit] = { content: bytes.toString("utf8") };
      hashes[unit] = crypto.createHash("sha256").update(bytes).digest("hex");
    }
  }
})(SRC_DIR);
if (Object.keys(sources).length === 0) fail(`no .sol files under ${SRC_DIR}`);

function findImports(p) {
  const prefix = "@openzeppelin/contracts/";
  if (p.startsWith(prefix)) {
    const file = path.join(OZ_DIR, p.slice(prefix.length));
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  }
  return { error: `import not found: ${p}` };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: Number(OPTIMIZER_RUNS) },
    evmVersion: EVM_VERSION,
    metadata: { appendCBOR: false },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let errors = 0;
for (const e of output.errors || []) {
  console.error(e.formattedMessage || e.message);
  if (e.severity === "error") errors++;
}
if (errors) fail(`${errors} compilation error(s)`);

const written = [];
for (const unit of Object.keys(sources)) {
  for (const [name, c] of Object.entries(output.contracts[unit] || {})) {
    const bytecode = c.evm.bytecode.object;
    if (!bytecode) continue; // interfaces / abstract contracts
    if (/__\$[0-9a-f]{34}\$__/.test(bytecode)) fail(`${name} needs library linking; not supported`);
    if (written.includes(name)) fail(`duplicate contract name ${name}`);
    const artifact = {
      contractName: name,
      abi: c.abi,
      bytecode: "0x" + bytecode,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
      compiler,
      sourceHash: hashes[unit],
    };
    fs.writeFileSync(path.join(STAGE, name + ".json"), JSON.stringify(artifact, null, 2) + "\n");
    written.push(name);
  }
}
if (written.length === 0) fail("no deployable contracts produced");
console.error(`build-contracts: compiled ${written.join(", ")} with solc ${compiler} (evm ${EVM_VERSION}, optimizer runs ${OPTIMIZER_RUNS})`);
NODE

if [ "$MODE" = "check" ]; then
  if diff -r "$STAGE" "$OUT_DIR" >/dev/null 2>&1; then
    echo "build-contracts: out/ is up to date"
  else
    diff -r "$STAGE" "$OUT_DIR" | head -20 >&2 || true
    die "out/ is stale: run scripts/build-contracts.sh"
  fi
  exit 0
fi

mkdir -p "$OUT_DIR"
# Drop stale artifacts of contracts that no longer exist, then copy the new ones.
for f in "$OUT_DIR"/*.json; do
  [ -e "$f" ] || continue
  [ -e "$STAGE/$(basename "$f")" ] || rm -f "$f"
done
cp "$STAGE"/*.json "$OUT_DIR"/
echo "build-contracts: wrote $(ls "$STAGE" | wc -l) artifact(s) to $OUT_DIR"
