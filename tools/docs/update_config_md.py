#!/usr/bin/env python3
"""Rewrites the key tables of docs/CONFIG.md from the key declarations (`carve config docs`).

Each block ("Keys of `path`: ..." and its table) replaces the block of the same path in place;
prose around the blocks is kept. A block whose path is not in the file yet is reported: place
it by hand under its section once, and later runs keep it up to date.

Usage: tools/docs/update_config_md.py [CARVE [CONFIG_MD]]   (defaults: build/carve, docs/CONFIG.md)
"""
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
carve = sys.argv[1] if len(sys.argv) > 1 else str(root / "build" / "carve")
path = Path(sys.argv[2] if len(sys.argv) > 2 else root / "docs" / "CONFIG.md")
printed = subprocess.run([carve, "config", "docs"], capture_output=True, text=True, check=True).stdout

HEAD = re.compile(r"^Keys of (?:`([^`]*)`|the top level):")


def blocks(text):
    """{path: (start line, end line)} of each generated block: head line, blank, table rows."""
    lines = text.split("\n")
    out = {}
    i = 0
    while i < len(lines):
        m = HEAD.match(lines[i])
        if not m or i + 2 >= len(lines) or not lines[i + 2].startswith("| key |"):
            i += 1
            continue
        j = i + 2
        while j < len(lines) and lines[j].startswith("|"):
            j += 1
        out[m.group(1) or ""] = (i, j)
        i = j
    return lines, out


new_lines, new_blocks = blocks(printed)
old_lines, old_blocks = blocks(path.read_text())
missing = [p for p in new_blocks if p not in old_blocks]
stale = [p for p in old_blocks if p not in new_blocks]
for p, (s, e) in sorted(old_blocks.items(), key=lambda kv: -kv[1][0]):
    if p in new_blocks:
        ns, ne = new_blocks[p]
        old_lines[s:e] = new_lines[ns:ne]
    else:
        del old_lines[s:e]
path.write_text("\n".join(old_lines))
for p in missing:
    print(f"{path}: no block for `{p or 'top level'}` yet: paste it under its section from `carve config docs`")
for p in stale:
    print(f"{path}: removed the block of `{p}`, which is no longer declared")
sys.exit(1 if missing else 0)
