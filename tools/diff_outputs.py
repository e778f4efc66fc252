"""Did a change move any notebook output? (`make diff-outputs OLD=dir NEW=dir`)

Compares the text outputs of two executions of the course's notebooks, cell by cell: what each
code cell printed (stdout and stderr, consecutive chunks joined), its results as text, its errors;
a figure counts as "<image>" (PNG bytes differ with the matplotlib build). The time an epoch took
(`· 4.2 s` at the end of a training line) is left out; every other difference is printed, timings
included, for a person to judge. Typical use, before and after a refactoring: execute both trees'
notebooks from empty caches (`make notebooks`-like, `--output-dir`), then compare the folders.
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

from tools.notebooks import read_notebook

_EPOCH_TIME = re.compile(r" · [0-9.]+ s$", re.MULTILINE)


def cell_texts(notebook: dict) -> list[str]:
    """The text outputs of each code cell, in order (see the module's docstring)."""
    texts = []
    for cell in (c for c in notebook["cells"] if c["cell_type"] == "code"):
        parts = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                text = _EPOCH_TIME.sub("", "".join(output.get("text", "")))
                label = output.get("name", "stdout") + ": "
                if parts and parts[-1].startswith(label):  # one stream, however it was chunked
                    parts[-1] += text
                else:
                    parts.append(label + text)
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                parts.append(
                    "<image>" if "image/png" in data else "".join(data.get("text/plain", ""))
                )
            elif kind == "error":
                parts.append(f"error: {output.get('ename')}: {output.get('evalue')}")
        texts.append("\n".join(parts))
    return texts


def differences(old: dict, new: dict) -> list[tuple[int, list[str]]]:
    """(code cell index, changed lines) for every code cell whose text outputs differ."""
    before, after = cell_texts(old), cell_texts(new)
    if len(before) != len(after):
        raise ValueError(f"new must have {len(before)} code cells like old, got {len(after)}")
    changed = []
    for index, (a, b) in enumerate(zip(before, after, strict=True)):
        if a != b:
            lines = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
            changed.append(
                (index, [line for line in lines if line[:3] not in ("---", "+++", "@@ ")])
            )
    return changed


def main(argv: list[str]) -> int:
    """`python -m tools.diff_outputs OLD NEW`: print the differences, notebook by notebook; exit 1
    if any differ or a notebook is missing from NEW."""
    if len(argv) != 2:
        print("usage: python -m tools.diff_outputs OLD_FOLDER NEW_FOLDER", file=sys.stderr)
        return 2
    old_dir, new_dir = map(Path, argv)
    status = 0
    for old in sorted(old_dir.glob("*.ipynb")):
        new = new_dir / old.name
        if not new.is_file():
            print(f"{old.name}: missing in {new_dir}")
            status = 1
            continue
        changed = differences(read_notebook(old), read_notebook(new))
        for index, lines in changed:
            print(f"{old.name}, code cell {index}:")
            print("\n".join(f"  {line}" for line in lines))
        print(f"{old.name}: {len(changed)} code cells differ")
        status = status or int(bool(changed))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
