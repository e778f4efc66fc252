"""Course metadata kept in one place: repository address, notebook map, badges, setup cell.

Change `REPOSITORY` here and run `make sync`: the badges and the Colab fetch in every notebook
follow (a test fails while any notebook is out of date).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from utils.config import ROOT

#: The public GitHub repository ("owner/name") the badges and the Colab set-up fetch from.
REPOSITORY = "first-principles-course/unet-unetpp-vae"
BRANCH = "main"

NOTEBOOK_DIR = ROOT / "notebooks"

#: The course map: notebook stem -> one line on what it teaches (order is the course order).
NOTEBOOKS = {
    "00_start_here": "Map of the course, how to launch it, profiles, how exercises work.",
    "01_convolution_by_hand": (
        "Convolution and pooling in NumPy, from the source document's formula to Keras' `Conv2D`; "
        "backprop; receptive field."
    ),
    "02_upsampling_by_hand": (
        "Nearest and bilinear upsampling, transposed convolution three ways, checkerboards; "
        "learned upsamplers compared over seeds."
    ),
    "03_data_and_metrics": (
        "Embedded microscopy datasets and a shipped real field (DSB 2018), aligned augmentation, "
        "Dice / IoU / HD95, boundary F and V_rand by hand."
    ),
    "04_unet": (
        "The source document's UNet: built, trained, dissected; from synthetic to a real field "
        "(fine-tuning over seeds, counting nuclei); skip connections put on trial over seeds."
    ),
    "05_unet_plus_plus": (
        "UNet++: nested skips, deep supervision, pruning L1-L4; over seeds, against its controls."
    ),
    "06_vae": (
        "The source document's VAE on single-nucleus crops: pathwise vs score-function gradients, "
        "closed-form KL, a validated sample-quality measure; beta, latent size and the KL term "
        "over seeds."
    ),
    "07_side_by_side": "UNet vs UNet++ vs VAE on the same crops, every claim measured over seeds.",
}

SETUP_MARKER = "# Course setup"

SETUP_CELL = f"""{SETUP_MARKER} (the same in every notebook): find the course, or fetch it on Colab.
import os
import subprocess
import sys

if "google.colab" in sys.modules and not os.path.isdir("../utils"):
    if not os.path.isdir("/content/course"):
        url = "https://github.com/{REPOSITORY}"
        subprocess.run(["git", "clone", "--depth", "1", url, "/content/course"], check=True)
    os.chdir("/content/course/notebooks")
sys.path.insert(0, os.path.abspath(".."))

from utils import setup

PROFILE = setup.start()"""


def colab_url(stem: str) -> str:
    """Address that opens notebook `stem` in Google Colab."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{stem}.ipynb"


def binder_url(stem: str) -> str:
    """Address that opens notebook `stem` in JupyterLab on mybinder.org."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath=notebooks%2F{stem}.ipynb"


def badges(stem: str) -> str:
    """Markdown line with the Colab and Binder badges for notebook `stem`."""
    return (
        f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(stem)}) "
        f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]({binder_url(stem)})"
    )


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def expected_problems(path: Path) -> list[str]:
    """What in notebook `path` is out of step with this module (badges, setup cell)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    problems = []
    if (
        not cells
        or cells[0]["cell_type"] != "markdown"
        or badges(path.stem) not in _source(cells[0])
    ):
        problems.append(f"{path.name}: first cell must be markdown holding badges({path.stem!r})")
    code = [c for c in cells if c["cell_type"] == "code"]
    if not code or _source(code[0]) != SETUP_CELL:
        problems.append(f"{path.name}: first code cell must be tools.course.SETUP_CELL")
    return problems


def sync(path: Path) -> bool:
    """Rewrite badges and the setup cell of notebook `path`; return True if it changed."""
    import nbformat  # only needed here: keeps `import tools.course` light

    text = path.read_text(encoding="utf-8")
    notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    cells = notebook["cells"]
    lines = _source(cells[0]).split("\n")
    badge_lines = [i for i, line in enumerate(lines) if "colab-badge.svg" in line]
    if badge_lines:
        lines[badge_lines[0]] = badges(path.stem)
    else:  # right under the title
        lines[1:1] = ["", badges(path.stem)]
    cells[0]["source"] = "\n".join(lines)
    for cell in cells:
        if cell["cell_type"] == "code" and _source(cell).startswith(SETUP_MARKER):
            cell["source"] = SETUP_CELL
            break
    new_text = nbformat.writes(notebook) + "\n"
    if new_text != text:
        path.write_text(new_text, encoding="utf-8")
        return True
    return False


def main(argv: list[str]) -> int:
    """`python -m tools.course sync` rewrites every notebook; `check` only reports."""
    command = argv[0] if argv else "check"
    if command not in ("sync", "check"):
        raise ValueError(f"command must be 'sync' or 'check', got {command!r}")
    problems = []
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        if command == "sync" and sync(path):
            print(f"updated {path.relative_to(ROOT)}")
        problems += expected_problems(path)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
