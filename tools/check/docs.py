#!/usr/bin/env python3
"""Every public type and function of src/ and models/ is documented where it is declared: each
namespace-level declaration in a header has a comment above it, or sits in a block of
declarations (no blank line between) that has one (issue 10, point 6).

    tools/check/docs.py [CHECKOUT]      prints FILE:LINE: declaration for each undocumented one
"""
import glob
import os
import re
import sys

DECLARATION = re.compile(r"^(?:(?:struct|class|enum(?: class)?)\s+\w+|[\w:<>,\s\*&]+?[\s\*&]+~?[\w:]+\s*\()")


def undocumented(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    depth = 0  # braces of classes and functions (namespaces do not count)
    found = []
    for i, line in enumerate(lines):
        text = line.strip()
        if depth == 0 and text and not line[0].isspace() and not text.startswith(
                ("//", "#", "namespace", "}", "using", "template", "extern", "TORCH_MODULE", "static_assert")):
            if DECLARATION.match(text) and not (text.startswith(("struct", "class")) and text.endswith(";")):
                j = i - 1
                documented = False
                while j >= 0 and lines[j].strip():
                    if lines[j].strip().startswith("//"):
                        documented = True
                        break
                    j -= 1
                if not documented:
                    found.append(f"{path}:{i + 1}: {text[:90]}")
        if not text.startswith("namespace") and not text.startswith("//"):
            depth = max(0, depth + line.count("{") - line.count("}"))
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    headers = sorted(glob.glob(os.path.join(root, "src", "carve", "**", "*.h"), recursive=True) +
                     glob.glob(os.path.join(root, "models", "*.h")))
    missing = [m for h in headers if not h.endswith("pch.h") for m in undocumented(h)]
    for m in missing:
        print(os.path.relpath(m, root) if m.startswith(root) else m)
    print(f"docs: {len(missing)} undocumented declarations in {len(headers)} headers", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
