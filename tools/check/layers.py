#!/usr/bin/env python3
"""Checks carve's layering: each folder includes only folders of its own layer or below, so the
folders form no include cycle. The layers, lowest first (docs/ARCHITECTURE.md draws them):

    core      src/carve (error, device, runtime, version), src/carve/nn
    penalty   src/carve/penalty
    models    models/
    metrics   src/carve/metrics
    data      src/carve/data
    export    src/carve/export
    config    src/carve/config
    train     src/carve/train          (one run)
    report    src/carve/report         (analysis of a run: a run's `analysis:` block uses it)
    orchestration src/carve/orchestration (sweep, suite, stack)
    bench     src/carve/bench          (benchmarks and the penalty comparison)
    cli       tools/carve

Usage: tools/check/layers.py [ROOT]   (exit 1 and one line per violation)
"""
import os
import re
import sys

LAYERS = [
    ("core", ["src/carve", "src/carve/nn"]),
    ("penalty", ["src/carve/penalty"]),
    ("models", ["models"]),
    ("metrics", ["src/carve/metrics"]),
    ("data", ["src/carve/data"]),
    ("export", ["src/carve/export"]),
    ("config", ["src/carve/config"]),
    ("train", ["src/carve/train"]),
    ("report", ["src/carve/report"]),
    ("orchestration", ["src/carve/orchestration"]),
    ("bench", ["src/carve/bench"]),
    
    ("cli", ["tools/carve"]),
]
FOLDER_LAYER = {folder: i for i, (_, folders) in enumerate(LAYERS) for folder in folders}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(path):
    return os.path.dirname(path)


def resolve(include, including_file, root):
    """The repository path of a quoted include, or None for a file outside the tree."""
    if include.startswith("carve/models/"):  # the top-level models/, as installed (include/carve/models)
        include = include[len("carve/"):]
    for base in (os.path.dirname(including_file), "src", ""):
        candidate = os.path.normpath(os.path.join(base, include))
        if os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../.."))
    violations = []
    edges = {}
    for top in ("src", "models", "tools/carve"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if not name.endswith((".h", ".cpp")):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), root)
                folder = folder_of(path)
                if folder not in FOLDER_LAYER:
                    violations.append(f"{path}: folder {folder} has no layer (add it to tools/check/layers.py)")
                    continue
                with open(os.path.join(root, path), encoding="utf-8") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = resolve(m.group(1), path, root)
                        if target is None:
                            continue
                        tfolder = folder_of(target)
                        if tfolder not in FOLDER_LAYER or tfolder == folder:
                            continue
                        edges.setdefault(folder, set()).add(tfolder)
                        if FOLDER_LAYER[tfolder] > FOLDER_LAYER[folder]:
                            violations.append(
                                f"{path}:{lineno}: {LAYERS[FOLDER_LAYER[folder]][0]} ({folder}) includes "
                                f"{target}, of the higher layer {LAYERS[FOLDER_LAYER[tfolder]][0]}")
    # Cycles between folders (implied by the order, checked on their own to say so plainly).
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                violations.append("include cycle between folders: " + " -> ".join(cycle))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} layering violation(s)")
        return 1
    print(f"layers: {sum(len(v) for v in edges.values())} folder dependencies, all downward")
    return 0


if __name__ == "__main__":
    sys.exit(main())
