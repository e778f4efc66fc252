"""The course as a static website (`make site`): Sphinx + MyST-NB over the stored outputs.

`stage` gathers the pages into one flat source folder — the notebooks (their badges, remote images,
turned into plain links), the glossary, the source document (its English account and the Chinese
original), the teacher's guide, a set-up page cut from the README, and a landing page with the
course map — rewriting the links between them. `build` runs Sphinx on it
(`site/conf.py`), copies MathJax next to the pages and draws the explorers' pictures
(`tools/explorers.py`: a notebook's live explorer becomes controls that pick among pictures drawn
at build time). No notebook is executed and nothing is fetched.
`python -m tools.site [OUT]` does both; the pages land in `build/site/` (open `index.html`).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from tools import explorers
from tools.course import BRANCH, NOTEBOOK_DIR, NOTEBOOKS, REPOSITORY, notebook_paths
from tools.notebooks import read_notebook, write_notebook
from utils.config import ROOT

SITE_CONFIG = ROOT / "site"
REPOSITORY_URL = f"https://github.com/{REPOSITORY}/blob/{BRANCH}"
BUILD_DIR = ROOT / "build"
#: The pages of notebooks/ that are not notebooks, copied as they are (links rewritten).
PAGES = ("glossary.md", "source_document.md", "source_document.zh.md")
#: The README's sections that make the set-up page, in this order.
SETUP_SECTIONS = ("Launching", "Profiles", "All commands", "Troubleshooting")

# [![label](image-url)](target-url): a badge, shown on the site as a plain link (no remote image).
_BADGE = re.compile(r"\[!\[([^\]]*)\]\((https?://[^)]+)\)\]\((https?://[^)]+)\)")


def _links(text: str, renames: dict[str, str], base: Path = ROOT) -> str:
    """Markdown `text` (from a file in `base`) with badges as plain links, links to pages renamed
    for the flat site, and links to other files of the repository pointed at its GitHub copy."""
    text = _BADGE.sub(lambda m: f"[{m.group(1)}]({m.group(3)})", text)
    # Badges side by side (a space or a line apart) read as one link: separate them.
    text = re.sub(r"(\]\(https?://[^)]+\))\s+(\[(Open in|Launch on) )", r"\1 · \2", text)

    def rename(match: re.Match) -> str:
        path, anchor = match.group(1), match.group(2) or ""
        if path in renames:
            return f"]({renames[path]}{anchor})"
        file = (base / path).resolve()
        if file.exists() and file.is_relative_to(ROOT):
            relative = file.relative_to(ROOT).as_posix()  # a page, linked from beside it?
            if relative in renames:
                return f"]({renames[relative]}{anchor})"
            return f"]({REPOSITORY_URL}/{relative}{anchor})"
        return match.group(0)

    return re.sub(r"\]\(([^)#\s:]+)(#[^)\s]*)?\)", rename, text)


def _renames(stems=None) -> dict[str, str]:
    """Where each linked file of the repository (notebooks `stems`, default the course's) lives
    on the flat site."""
    stems = NOTEBOOKS if stems is None else stems
    renames = {"TEACHING.md": "teaching.md", "../TEACHING.md": "teaching.md"}
    for stem in stems:
        renames[f"notebooks/{stem}.ipynb"] = f"{stem}.ipynb"
    for page in PAGES:
        renames[f"notebooks/{page}"] = page
    renames["README.md"] = "setup.md"
    renames["../README.md"] = "setup.md"
    return renames


def readme_sections(names=SETUP_SECTIONS) -> dict[str, str]:
    """The README's `## name` sections (heading included), by name; a missing one is an error."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    parts = re.split(r"(?m)^(?=## )", text)
    found = {part.splitlines()[0][3:].strip(): part for part in parts if part.startswith("## ")}
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"README.md has no section(s) {missing}; it has {sorted(found)}")
    return {name: found[name] for name in names}


def _landing(renames: dict[str, str], stems) -> str:
    """The landing page: the README's opening, its course map, and the site's table of contents
    (notebooks `stems`, in this order: the pages' previous/next links follow it)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    opening = text.split("\n## ", 1)[0]
    course_map = readme_sections(["Course map"])["Course map"]
    toc = "\n".join(stems)
    page = (
        f"{opening.rstrip()}\n\n{course_map.rstrip()}\n\n"
        "Every page shows the notebook with the outputs it stores (the `cpu` profile); to run it,\n"
        "open it in JupyterLab, on Colab or on Binder (the links at the top of each page).\n\n"
        "```{toctree}\n:maxdepth: 1\n:caption: Notebooks\n:hidden:\n\n"
        f"{toc}\n```\n\n"
        "```{toctree}\n:maxdepth: 1\n:caption: More\n:hidden:\n\nglossary\nsource_document\n"
        "source_document.zh\nsetup\nteaching\n```\n"
    )
    return _links(page, renames)


def explorer_of(cell) -> str | None:
    """The explorer a notebook cell shows (its tag `explorer-<name>`), or None."""
    for tag in cell.get("metadata", {}).get("tags", []):
        if tag.startswith("explorer-") and tag.removeprefix("explorer-") in explorers.GRIDS:
            return tag.removeprefix("explorer-")
    return None


def staged_explorers(sources: Path) -> list[str]:
    """The explorers the staged pages in `sources` show, in page order."""
    return [
        name
        for path in sorted(Path(sources).glob("*.ipynb"))
        for cell in read_notebook(path)["cells"]
        if (name := explorer_of(cell))
    ]


def stage(target: Path, source: Path = NOTEBOOK_DIR) -> Path:
    """Write the site's sources into `target` (emptied first) — the course notebooks of `source`,
    lessons and appendices in course order (`course.notebook_paths`); return it."""
    target, source = Path(target), Path(source)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    paths = notebook_paths(source)
    stems = [path.stem for path in paths]
    renames = _renames(stems)
    for path in paths:
        notebook = read_notebook(path)
        cells = []
        for cell in notebook["cells"]:
            if cell["cell_type"] == "markdown":
                cell["source"] = _links("".join(cell["source"]), renames, source)
            cells.append(cell)
            name = explorer_of(cell)
            if name:  # the live widget cannot run here: its pictures, drawn at build time
                cell["outputs"] = []
                block = f"```{{raw}} html\n{explorers.html(name)}```\n"
                cells.append({"cell_type": "markdown", "metadata": {}, "source": block})
        notebook["cells"] = cells
        write_notebook(target / path.name, notebook)
    for page in PAGES:  # (a missing one fails the build: the table of contents names it)
        if (source / page).exists():
            text = (source / page).read_text(encoding="utf-8")
            (target / page).write_text(_links(text, renames, source), encoding="utf-8")
    teaching = (ROOT / "TEACHING.md").read_text(encoding="utf-8")
    (target / "teaching.md").write_text(_links(teaching, renames), encoding="utf-8")
    setup = "# Set-up, profiles and commands\n\n" + "\n".join(readme_sections().values())
    (target / "setup.md").write_text(_links(setup, renames), encoding="utf-8")
    (target / "index.md").write_text(_landing(renames, stems), encoding="utf-8")
    for name in ("conf.py", "favicon.svg"):
        shutil.copy(SITE_CONFIG / name, target / name)
    (target / "_static").mkdir()
    return target


def build(out: Path = BUILD_DIR / "site", sources: Path = BUILD_DIR / "site-src") -> Path:
    """Stage the sources and build the HTML pages into `out`; return the landing page's path.
    Sphinx's warnings are errors: a broken link or a missing image fails the build."""
    from sphinx.cmd.build import build_main

    stage(sources)
    shutil.copytree(SITE_CONFIG / "mathjax", sources / "_static" / "mathjax")
    shutil.copy(SITE_CONFIG / "explorer.js", sources / "_static" / "explorer.js")
    for name in staged_explorers(sources):
        explorers.precompute(name, sources / "_static" / "explorers")
    if Path(out).exists():
        shutil.rmtree(out)
    status = build_main(["-b", "html", "-W", "--keep-going", "-q", str(sources), str(out)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed with status {status} (its messages are above)")
    return Path(out) / "index.html"


if __name__ == "__main__":
    landing = build(Path(sys.argv[1])) if len(sys.argv) > 1 else build()
    print(f"site built: {landing}")
