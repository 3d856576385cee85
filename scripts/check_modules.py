#!/usr/bin/env python3
"""Checks the module structure of every crate in crates/.

Fails (exit 1) when
- a module of a crate imports, directly or through others, a module that
  imports it back (an import circle), counted between top-level modules
  (`crate::tiling` and everything under it is one node); a parent's own
  `mod`/`pub use` of its children is its facade, not a dependency;
- a source file is longer than --max-lines (default 600).

Unit tests (`#[cfg(test)] mod tests { ... }` at the end of a file) are left
out: tests may use any part of the crate.

    python3 scripts/check_modules.py [--max-lines N] [--verbose]
"""
import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_path(src: Path, f: Path) -> tuple:
    rel = f.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*(pub(\(crate\))? )?mod \w+\s*\{", text, re.M)
    return text[: m.start()] if m else text


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def expand_use_groups(text: str) -> list:
    """Paths named by `crate::` and `super::` references, with brace groups
    of `use` items expanded one level (`crate::{a, b::c}` gives a and b)."""
    paths = []
    for m in re.finditer(r"\b(crate|super)((?:::super)*)::\{([^}]*)\}", text):
        for item in m.group(3).split(","):
            item = item.strip()
            if item:
                paths.append(f"{m.group(1)}{m.group(2)}::{item}")
    for m in re.finditer(r"\b(crate|super)((?:::super)*)::([A-Za-z_][A-Za-z0-9_]*)", text):
        paths.append(f"{m.group(1)}{m.group(2)}::{m.group(3)}")
    return paths


def resolve(path: str, here: tuple, is_mod_file: bool, modules: set):
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        # `super` in a mod.rs or a leaf file refers to the parent module.
        base = here
        while parts and parts[0] == "super":
            base = base[:-1]
            parts = parts[1:]
        rest = parts
    target = base
    for p in rest:
        p = p.strip().split(" ")[0]
        if target + (p,) in modules:
            target = target + (p,)
        else:
            break
    return target


def check_crate(crate: Path, max_lines: int, verbose: bool) -> list:
    src = crate / "src"
    files = sorted(src.rglob("*.rs"))
    modules = {module_path(src, f) for f in files}
    problems = []
    edges = {}
    for f in files:
        text = f.read_text(encoding="utf-8")
        n = text.count("\n")
        if n > max_lines:
            problems.append(f"{f.relative_to(ROOT)}: {n} lines (more than {max_lines})")
        here = module_path(src, f)
        if f.name == "build.rs" and f.parent == crate:
            continue
        body = strip_comments(strip_tests(text))
        is_mod = f.name in ("mod.rs", "lib.rs", "main.rs")
        for p in expand_use_groups(body):
            target = resolve(p, here, is_mod, modules)
            if not target or not here:
                continue
            a, b = here[0], target[0]
            if a == b:
                continue
            edges.setdefault(a, {}).setdefault(b, []).append(f"{f.relative_to(ROOT)}: {p}")
    # Cycles between top-level modules (Tarjan's strongly connected components).
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    nodes = set(edges) | {b for d in edges.values() for b in d}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    for comp in comps:
        if len(comp) > 1:
            lines = [f"{crate.name}: import circle between modules {sorted(comp)}:"]
            for a in sorted(comp):
                for b, why in sorted(edges.get(a, {}).items()):
                    if b in comp:
                        lines.append(f"  {a} -> {b} ({why[0]}{' and more' if len(why) > 1 else ''})")
            problems.append("\n".join(lines))
    if verbose:
        for a in sorted(edges):
            print(f"{crate.name}: {a} -> {', '.join(sorted(edges[a]))}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-lines", type=int, default=600)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    problems = []
    for crate in sorted((ROOT / "crates").iterdir()):
        if (crate / "src").is_dir():
            problems += check_crate(crate, args.max_lines, args.verbose)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("modules: no import circle, no file over", args.max_lines, "lines")


if __name__ == "__main__":
    main()
