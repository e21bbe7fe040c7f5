#!/usr/bin/env python3
"""Checks that modules inside a crate import only from layers below their own.

Each crate listed in LAYERS gives every module of its `src/` a layer number, bottom (0) to top
(a child module without an entry of its own takes its parent's); a module may name
(`crate::m`, `crate::m::child`, `use crate::{m, …}`) only modules of a lower layer, or its own
parent and children. Same-layer
imports are refused too, so no two modules can lean on each other. Unit tests inside a module
are part of it and follow the same rule. A module the map does not list is an error, so a new
file must be placed on purpose.

    scripts/check-layers.py              # check the workspace; exit 1 on a violation
    scripts/check-layers.py --self-test  # prove the check fails on a deliberately wrong import

Run by `.ci/run`. Python 3 standard library only.
"""

import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# crate src dir -> (module -> (layer, why)), and re-exports of lib.rs that name a module's item.
LAYERS = {
    "crates/ledger/src": {
        "modules": {
            # 0: leaves, importing nothing of the crate (or only other leaves below them).
            "params": (0, "protocol parameters and genesis: plain data and their checks"),
            "governance_state": (0, "state records (report status, protocols, proposals, votes)"),
            "reputation": (1, "reputation arithmetic over params"),
            "error": (1, "error types; name records and params only"),
            # 2: the state and what happens to it, as data.
            "events": (2, "events name errors and records"),
            "state": (2, "the state: accounts, reports, records, in BTreeMaps"),
            # 3: building blocks every handler uses.
            "store": (3, "the Merkle store of state and events"),
            "effects": (3, "Effects, the nonce bump, checked helpers, account lookup"),
            "stake": (3, "slashing"),
            # 4–6: the handlers, each above those it calls.
            "breakers": (4, "protocol registration, trips, resets, bounties"),
            "bounties": (4, "disclosures and recovery bounties, paid from a protocol's escrow"),
            "streams": (4, "audit streams: open, top up, pause, restart, close, claim, void"),
            "evidence": (4, "equivocation evidence: slash and remove a validator"),
            "settle": (5, "verdicts, rewards and slashing of reports; unbonding; validator set"),
            "governance": (6, "proposals, votes, execution (which may settle an escalated report)"),
            # 7: orchestration.
            "exec": (7, "transaction dispatch to the handlers"),
            "block": (7, "end-of-block work in its fixed order"),
            # 8: the ledger itself.
            "ledger": (8, "the Ledger: check, finalize, commit, queries"),
            "lib": (9, "the crate root re-exports everything"),
        },
        # lib.rs re-exports named through `crate::` by modules: the module they come from.
        "aliases": {"security": "governance"},
    },
    "crates/node/src": {
        "modules": {
            # 0: leaves.
            "metrics": (0, "every metric family of the node"),
            "mempool": (0, "the pending transactions"),
            "store": (0, "redb storage of the ledger, blocks and certificates"),
            "keyfile": (0, "key files"),
            "disclosure": (0, "age encryption of disclosures, ciphertext checks, identity files"),
            "replay": (0, "offline replays of recordings"),
            "intel": (0, "the indicator book and its errors (the services are its children)"),
            "intel::admin": (0, "the admin token"),
            "intel::check": (0, "address/domain checks against the book"),
            "handles": (1, "the gossip bridge and NetState the state holds"),
            "journal": (1, "the mempool journal's writer (over the store)"),
            "immunity": (1, "shared fingerprints and rules in force, from the ledger and trusted alerts"),
            # 2: the state: data and handles, never services.
            "app": (2, "NodeState, events, submission"),
            # 3–4: services, taking the state and their own settings section.
            "consensus": (3, "the consensus adapter (NodeApp) and its settings"),
            "gossip": (3, "the gossip service and its settings"),
            "respond": (3, "the policy engine and incidents"),
            "respond::onchain": (3, "the on-chain executor and its settings"),
            "respond::template": (2, "message templates of alert channels (imports nothing)"),
            "respond::webhook": (2, "webhook executors and their HMAC signature (channels sign with it)"),
            "respond::route": (3, "routes of incidents to channels"),
            "respond::channel": (3, "alert channels: webhook, Slack, Discord, Telegram, email, PagerDuty, Opsgenie"),
            "intel::export": (3, "STIX export of the book and the ledger"),
            "intel::service": (3, "opening the book and TAXII at start; the feed task"),
            "intel::pull": (3, "pulling TAXII 2.1 collections into the book: cursors, schedule"),
            "watch": (4, "the chain watch, which acts through respond"),
            "intel::taxii_feed": (4, "the TAXII feed from the ledger (its tests commit through consensus)"),
            # 5: every HTTP handler and error mapping.
            "api": (5, "the HTTP API"),
            "api::disclosures": (5, "disclosures and recovery claims: /v1/disclosures, /v1/recoveries"),
            "api::detection": (5, "shared detection content: GET /v1/detection"),
            "api::contract": (5, "the error object and parameter checks against the OpenAPI description"),
            "api::limits": (5, "per-client rates, connection and event-stream caps, serve"),
            # 6–9: wiring.
            "config": (6, "the NodeConfig aggregate of every section"),
            "client": (6, "the HTTP client the CLI uses"),
            "node": (7, "starting and stopping a node"),
            "devnet": (8, "the single-node demo network"),
            "testnet": (9, "local multi-process testnets"),
            # 10–13: the binary (`crate::` there is main.rs), through the client and the library.
            "cli::keys": (10, "key arguments and commands"),
            "cli::run": (10, "logging and signals for long-running commands"),
            "cli::replay": (10, "vigil replay"),
            "cli::stix": (10, "vigil stix / taxii"),
            "cli::import": (10, "vigil import oz-monitor"),
            "cli::simulate": (10, "vigil simulate"),
            "cli::ledger": (11, "ledger commands and the shared send/print helpers"),
            "cli::watch": (11, "vigil monitor"),
            "cli::feed": (12, "feed commands"),
            "cli::bounty": (12, "disclose, disclosure and recovery commands"),
            "cli::respond": (12, "protocol, breaker and governance commands"),
            "cli::testnet": (12, "vigil testnet"),
            "cli": (13, "the vigil command line"),
            "lib": (14, "crate roots"),
        },
    },
}

USE_GROUP = re.compile(r"\bcrate::\{([^}]*)\}")
USE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)")


def strip_comments(text):
    """Drops // comments (line and doc) and /* */ blocks; keeps string contents (harmless)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def module_of(src, path):
    """`a/b.rs` and `a/b/mod.rs` → `a::b`; `lib.rs`/`main.rs` → `lib`."""
    rel = os.path.relpath(path, src)[: -len(".rs")].replace(os.sep, "::")
    if rel.endswith("::mod"):
        rel = rel[: -len("::mod")]
    return "lib" if rel in ("lib", "main") else rel


SUPER_PATH = re.compile(r"\bsuper::((?:super::)*)([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)")


def imports(text, module="lib"):
    """The module paths named after `crate::` (`a`, `a::b::c`, and the heads of a group), and
    after `super::`, resolved from `module`."""
    names = set()
    code = strip_comments(text)
    for ups, path in SUPER_PATH.findall(code):
        base = [] if module == "lib" else module.split("::")
        base = base[: max(0, len(base) - 1 - ups.count("super::"))]
        names.add("::".join(base + [path]))
    for group in USE_GROUP.findall(code):
        for item in group.split(","):
            path = re.split(r"[\s{]", item.strip(), maxsplit=1)[0]
            if path and path != "self":
                names.add(path)
    for path in USE_PATH.findall(code):
        names.add(path)
    return names


def placed(path, layers):
    """The longest prefix of the module path `path` that has a layer, if any."""
    parts = path.split("::")
    for n in range(len(parts), 0, -1):
        prefix = "::".join(parts[:n])
        if prefix in layers:
            return prefix
    return None


def related(a, b):
    """Whether one module is the other, or its ancestor."""
    return a == b or a.startswith(b + "::") or b.startswith(a + "::")


def check(root, crates=LAYERS):
    problems = []
    for src_rel, spec in crates.items():
        src = os.path.join(root, src_rel)
        layers, aliases = spec["modules"], spec.get("aliases", {})
        for dirpath, _, files in os.walk(src):
            for f in sorted(files):
                if not f.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, f)
                module = module_of(src, path)
                top = placed(module, layers)
                if top is None:
                    problems.append(f"{src_rel}/{os.path.relpath(path, src)}: module `{module}` has no layer in scripts/check-layers.py")
                    continue
                own = layers[top][0]
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                for name in sorted(imports(text, module)):
                    head, _, rest = name.partition("::")
                    name = aliases.get(head, head) + ("::" + rest if rest else "")
                    target = placed(name, layers)
                    if target is None:
                        continue  # a crate-root item (a macro, a re-exported type): not a module
                    if related(target, top) or related(module, target):
                        continue  # itself, a parent or a child
                    theirs = layers[target][0]
                    if theirs >= own:
                        problems.append(
                            f"{src_rel}/{os.path.relpath(path, src)}: `{top}` (layer {own}) imports "
                            f"`{target}` (layer {theirs}); a module may import only from layers below its own"
                        )
    return problems


def self_test():
    """The check passes on the tree, and fails on a copy with one upward import added."""
    assert not check(ROOT), "the tree itself must pass first"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "crates/ledger/src")
        shutil.copytree(os.path.join(ROOT, "crates/ledger/src"), src)
        with open(os.path.join(src, "effects.rs"), "a", encoding="utf-8") as fh:
            fh.write("\n#[allow(unused_imports)]\nuse crate::exec::plan;\n")
        problems = check(tmp)
        assert any("`effects` (layer 3) imports `exec` (layer 7)" in p for p in problems), problems
        # A grouped import is seen too, and a new unlisted module is refused.
        with open(os.path.join(src, "stake.rs"), "a", encoding="utf-8") as fh:
            fh.write("\nuse crate::{error, governance::vote};\n")
        with open(os.path.join(src, "newcomer.rs"), "w", encoding="utf-8") as fh:
            fh.write("//! not placed\n")
        problems = check(tmp)
        assert any("`stake` (layer 3) imports `governance`" in p for p in problems), problems
        assert any("module `newcomer` has no layer" in p for p in problems), problems
        # Comments do not count.
        with open(os.path.join(src, "params.rs"), "a", encoding="utf-8") as fh:
            fh.write("\n// see crate::ledger for how params are used\n")
        assert not any("`params`" in p for p in check(tmp)), check(tmp)
    # In the node: the state may not reach up into the API, nor a leaf into a service.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "crates/node/src")
        shutil.copytree(os.path.join(ROOT, "crates/node/src"), src)
        with open(os.path.join(src, "app.rs"), "a", encoding="utf-8") as fh:
            fh.write("\n#[allow(unused_imports)]\nuse crate::api::router;\n")
        with open(os.path.join(src, "intel", "mod.rs"), "a", encoding="utf-8") as fh:
            fh.write("\nfn _up(s: &crate::app::NodeState) {}\n")
        problems = check(tmp, {"crates/node/src": LAYERS["crates/node/src"]})
        assert any("`app` (layer 2) imports `api` (layer 5)" in p for p in problems), problems
        assert any("`intel` (layer 0) imports `app` (layer 2)" in p for p in problems), problems
    print("check-layers self-test: a wrong import fails the check, as it should")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    problems = check(ROOT)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check-layers: {len(problems)} layering violation(s)", file=sys.stderr)
        return 1
    print(f"check-layers: {', '.join(LAYERS)} follow their layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
