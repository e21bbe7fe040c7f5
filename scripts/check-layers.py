#!/usr/bin/env python3
"""Checks that modules inside a crate import only from layers below their own.

Each crate listed in LAYERS gives every module of its `src/` a layer number, bottom (0) to top;
a module may name (`crate::m`, `use crate::{m, …}`) only modules of a lower layer. Same-layer
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
    # crates/node/src is not listed yet (issue 14): metrics, handles and the intel book are
    # leaves now, but gossip and intel::api still hold HTTP handlers that import api (which
    # imports them back), and config still aggregates types respond::onchain imports.
}

USE_GROUP = re.compile(r"\bcrate::\{([^}]*)\}")
USE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


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


def imports(text):
    names = set()
    code = strip_comments(text)
    for group in USE_GROUP.findall(code):
        for item in group.split(","):
            head = item.strip().split("::", 1)[0].strip()
            if head and head != "self":
                names.add(head)
    for name in USE_PATH.findall(code):
        names.add(name)
    return names


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
                top = module.split("::", 1)[0]
                if top not in layers:
                    problems.append(f"{src_rel}/{os.path.relpath(path, src)}: module `{top}` has no layer in scripts/check-layers.py")
                    continue
                own = layers[top][0]
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                for name in sorted(imports(text)):
                    target = aliases.get(name, name)
                    if target == top:
                        continue
                    if target not in layers:
                        continue  # a crate-root item (a macro, a re-exported type): not a module
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
