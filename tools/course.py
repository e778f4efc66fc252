"""Course metadata kept in one place: repository address, notebook map, badges, setup cell.

Change `REPOSITORY` here and run `make sync`: the badges and the Colab fetch in every notebook
follow (a test fails while any notebook is out of date). The notebooks are lessons (`04_unet`) and
optional appendices placed after their lesson (`04a_receptive_fields`); `notebook_paths(folder)`
lists them in course order, for everything that goes through the notebooks (the site, student
copies, grading, the verdict rerun). `python -m tools.course check` (`make lint`) reports what is
out of step: names, `NOTEBOOKS`, README.md's course map, badges and setup cells.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tools.notebooks import read_notebook, write_notebook
from utils.config import ROOT

#: The public GitHub repository ("owner/name") the badges and the Colab set-up fetch from.
REPOSITORY = "first-principles-course/unet-unetpp-vae"
BRANCH = "main"

NOTEBOOK_DIR = ROOT / "notebooks"

#: A lesson's file name (without .ipynb): two digits, then a name, "04_unet".
LESSON = re.compile(r"(\d\d)_[a-z0-9_]+")
#: An appendix's: its lesson's two digits and one lower-case letter, "04a_receptive_fields". It is
#: optional and comes right after its lesson (then 04b, ...), before the next lesson.
APPENDIX = re.compile(r"(\d\d)([a-z])_[a-z0-9_]+")

#: The course map: notebook stem -> one line on what it teaches, lessons and appendices, in course
#: order (`course_order`); README.md's course map has one row for each, in the same order.
NOTEBOOKS = {
    "00_start_here": "Map of the course, how to launch it, profiles, how exercises work.",
    "01_convolution_by_hand": (
        "Convolution and pooling in NumPy, from the source document's formula to Keras' `Conv2D`; "
        "why convolution (equivariance, parameter count, 1x1); backprop by hand and a kernel "
        "learned with it; receptive field."
    ),
    "02_upsampling_by_hand": (
        "Nearest and bilinear upsampling, transposed convolution three ways, checkerboards; "
        "bilinear upsampling as a transposed convolution (FCN's initialisation)."
    ),
    "02a_learned_upsamplers": (
        "Appendix to 02: learned upsamplers trained over seeds; the course's rule for comparing "
        "two trained models; checkerboards and error maps after training."
    ),
    "03_data_and_metrics": (
        "Embedded microscopy datasets next to a shipped real field (DSB 2018) at the models' "
        "sizes, aligned augmentation, Dice / IoU / HD95, boundary F and V_rand by hand."
    ),
    "03a_data_appendix": (
        "Appendix to 03: mean Dice vs mean IoU, the two HD95 conventions, what a merge costs in "
        "V_rand, downloads that never leave a half-written file."
    ),
    "04_unet": (
        "The source document's UNet written in Keras and checked against the package, trained with "
        "compile/fit; the UNet paper's border weights; skip connections put on trial over seeds."
    ),
    "04a_real_field": (
        "Appendix to 04: the nuclei UNet on a real DSB 2018 field, fine-tuned vs from scratch over "
        "seeds, and what a per-pixel mask cannot count."
    ),
    "04b_unet_dissected": (
        "Appendix to 04: trained kernels, feature maps, the effective receptive field, the "
        "decoder's upsampling; the all-black failure on rare foreground."
    ),
    "05_unet_plus_plus": (
        "UNet++: the nested grid wired node by node and checked against the package; UNet vs "
        "UNet++ decided over ten seeds."
    ),
    "05a_unet_plus_plus_appendix": (
        "Appendix to 05: deep supervision (head L4 and the mean of heads) and pruning L1-L4, "
        "over seeds."
    ),
    "05b_unet_plus_plus_controls": (
        "Appendix to 05: the paper's controls (best depth on validation, parameters, FLOPs) and "
        "a longer constant-rate run that tests the training budget."
    ),
    "06_vae": (
        "The source document's VAE written in the open and checked against utils; "
        "reparameterisation, closed-form KL, the ELBO; samples, interpolation, a 2-D latent map; "
        "beta, latent size and the KL term over seeds."
    ),
    "06a_vae_appendix": (
        "Appendix to 06: pathwise vs score-function gradients against sigma, with a baseline; the "
        "sample-quality measure validated, with precision and recall; temperature; rate and "
        "distortion; what each latent dimension carries."
    ),
    "07_side_by_side": (
        "Skips or latents: the VAE with and without UNet's skips over seeds; sampling without an "
        "input image; one table for every model."
    ),
}


def is_appendix(stem: str) -> bool:
    """Whether `stem` names an appendix ("04a_receptive_fields"), not a lesson ("04_unet")."""
    return APPENDIX.fullmatch(stem) is not None


def is_course_notebook(stem: str) -> bool:
    """Whether `stem` names a lesson or an appendix (glossary.md and the like are neither)."""
    return LESSON.fullmatch(stem) is not None or is_appendix(stem)


def order_key(stem: str) -> tuple[int, str, str]:
    """Sort key of the course order: by number, a lesson before its appendices (a, b, ...)."""
    match = LESSON.fullmatch(stem) or APPENDIX.fullmatch(stem)
    if match is None:
        raise ValueError(f"{stem!r} is neither a lesson (04_unet) nor an appendix (04a_topic)")
    return int(match.group(1)), match.group(2) if match.re is APPENDIX else "", stem


def course_order(stems) -> list[str]:
    """`stems` (lessons and appendices) in course order."""
    return sorted(stems, key=order_key)


def notebook_paths(folder: Path | str = NOTEBOOK_DIR) -> list[Path]:
    """The course notebooks in `folder`, lessons and appendices, in course order."""
    paths = [p for p in Path(folder).glob("*.ipynb") if is_course_notebook(p.stem)]
    return sorted(paths, key=lambda path: order_key(path.stem))


def map_stems(text: str) -> list[str]:
    """The notebooks a course map links to, in the order of its rows: the table rows of `text`'s
    section "## Course map" (all of `text` when it has none) that link to notebooks/NAME.ipynb."""
    parts = re.split(r"(?m)^## ", text)
    section = next((part for part in parts if part.startswith("Course map\n")), text)
    return re.findall(r"(?m)^\|[^|\n]*\| *\[[^\]]*\]\(notebooks/([^)/]+)\.ipynb\)", section)


def map_problems(text: str, stems) -> list[str]:
    """What in the course map `text` is out of step with `stems` (one row each, in this order)."""
    found, stems = map_stems(text), list(stems)
    if found == stems:
        return []
    missing = [stem for stem in stems if stem not in found]
    extra = [stem for stem in found if stem not in stems]
    if missing or extra:
        return [f"README.md course map: missing {missing}, not notebooks {extra}"]
    return [f"README.md course map: rows in the order {found}, the course's is {stems}"]


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
    notebook = read_notebook(path)
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
    notebook = read_notebook(path)
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
    return write_notebook(path, notebook)


def out_of_step(folder: Path | str = NOTEBOOK_DIR, stems=None, readme: Path | str | None = None):
    """Everything out of step in `folder`: a notebook named neither as a lesson nor as an
    appendix, notebooks other than `stems` (default: `NOTEBOOKS`) or in another order, a course
    map in `readme` (default: README.md) other than `stems`, and each notebook's badges and setup
    cell."""
    stems = list(NOTEBOOKS if stems is None else stems)
    readme = Path(ROOT / "README.md" if readme is None else readme)
    found = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        if not is_course_notebook(path.stem):
            found.append(f"{path.name}: name it NN_topic (a lesson) or NNx_topic (an appendix)")
    on_disk = [path.stem for path in notebook_paths(folder)]
    if on_disk != stems:
        found.append(f"notebooks {on_disk} differ from tools.course.NOTEBOOKS {stems}")
    if stems != course_order(stems):
        found.append(f"tools.course.NOTEBOOKS is not in course order: {course_order(stems)}")
    found += map_problems(readme.read_text(encoding="utf-8"), stems)
    for path in notebook_paths(folder):
        found += expected_problems(path)
    return found


#: The size of one lesson (issue 31), each "about": words of markdown, the longest markdown cell,
#: lines of code.
LESSON_LIMITS = {"words": 3000, "longest": 150, "code": 350}


def size(path: Path) -> dict[str, int]:
    """How long a notebook is to teach: its markdown words, the words of its longest markdown
    cell, and its lines of code without blank lines, comments and worked solutions."""
    words, longest, code = 0, 0, 0
    for cell in read_notebook(path)["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "markdown":  # the badges' line is links, not prose
            count = sum(
                len(line.split()) for line in text.splitlines() if not line.startswith("[![")
            )
            words, longest = words + count, max(longest, count)
        elif cell["cell_type"] == "code" and "solution" not in cell.get("metadata", {}).get(
            "tags", []
        ):
            code += sum(1 for line in text.splitlines() if line.strip()[:1] not in ("", "#"))
    return {"words": words, "longest": longest, "code": code}


def main(argv: list[str]) -> int:
    """`python -m tools.course sync` rewrites every notebook; `check` only reports; `sizes`
    prints each notebook's markdown words, longest markdown cell and lines of code."""
    command = argv[0] if argv else "check"
    if command not in ("sync", "check", "sizes"):
        raise ValueError(f"command must be 'sync', 'check' or 'sizes', got {command!r}")
    if command == "sizes":
        print(
            f"{'notebook':<32}{'words':>7}{'longest':>9}{'code':>6}  (a lesson: at most "
            + ", ".join(f"{k} {v}" for k, v in LESSON_LIMITS.items())
            + ")"
        )
        for path in notebook_paths(NOTEBOOK_DIR):
            found = size(path)
            print(
                f"{path.stem:<32}"
                + "".join(
                    f"{found[k]:>{w}}" for k, w in (("words", 7), ("longest", 9), ("code", 6))
                )
            )
        return 0
    if command == "sync":
        for path in notebook_paths(NOTEBOOK_DIR):
            if sync(path):
                print(f"updated {path.relative_to(ROOT)}")
    found = out_of_step()
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
