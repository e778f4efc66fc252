"""The one way the machinery reads and writes notebook files.

`write_notebook` writes what `nbformat.write` writes (and what the stored notebooks hold): JSON with
sorted keys, an indent of 1, non-ASCII characters as they are, multi-line text split into lists of
lines, and a trailing newline — so a notebook read and written back is unchanged, byte for byte.
Plain `json`, no nbformat: the machinery stays light to import.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

# Besides text/*, the mime types nbformat stores as lists of lines.
_SPLIT_MIMES = {"application/javascript", "image/svg+xml"}


def read_notebook(path: Path | str) -> dict:
    """The notebook stored at `path`, as plain JSON data (a dict)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _split_bundle(bundle: dict) -> None:
    for key, value in bundle.items():
        if isinstance(value, str) and (key.startswith("text/") or key in _SPLIT_MIMES):
            bundle[key] = value.splitlines(keepends=True)


def notebook_text(notebook: dict) -> str:
    """The file text of `notebook`, as nbformat writes it (`notebook` itself is not changed)."""
    notebook = copy.deepcopy(notebook)
    metadata = notebook.get("metadata", {})
    for transient in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        metadata.pop(transient, None)
    for cell in notebook.get("cells", []):
        cell.get("metadata", {}).pop("trusted", None)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
        for attachment in cell.get("attachments", {}).values():
            _split_bundle(attachment)
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") in ("execute_result", "display_data"):
                _split_bundle(output.get("data", {}))
            elif output.get("output_type") == "stream" and isinstance(output.get("text"), str):
                output["text"] = output["text"].splitlines(keepends=True)
    text = json.dumps(
        notebook, indent=1, sort_keys=True, ensure_ascii=False, separators=(",", ": ")
    )
    return text + "\n"


def write_notebook(path: Path | str, notebook: dict) -> bool:
    """Write `notebook` to `path` (its folder must exist) unless the file already holds exactly
    that; return True when the file changed."""
    path, text = Path(path), notebook_text(notebook)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
