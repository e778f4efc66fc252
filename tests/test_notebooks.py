"""The notebooks stay clean in git: executed in order, no errors, small figures, the skeleton.

nbval (configured in pyproject.toml) re-runs them; these tests check what is stored.
"""

import base64
import json
import re
import struct
from pathlib import Path

import nbformat
import pytest

from tools import course

NOTEBOOKS = sorted(course.NOTEBOOK_DIR.glob("*.ipynb"))
MAX_MEGABYTES = 2.0
MAX_FIGURE_PIXELS = 1600  # width or height of a stored PNG
DOCUMENTS = [
    course.ROOT / "README.md",
    course.ROOT / "TEACHING.md",
    course.NOTEBOOK_DIR / "glossary.md",
    course.NOTEBOOK_DIR / "source_document.md",
    course.NOTEBOOK_DIR / "source_document.zh.md",
]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def png_size(data: str) -> tuple[int, int]:
    header = base64.b64decode(data[:64])
    return struct.unpack(">II", header[16:24])


def test_there_are_notebooks():
    assert course.NOTEBOOK_DIR / "00_start_here.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_on_the_map(path):
    nbformat.validate(read(path))
    assert course.is_course_notebook(path.stem), "name it NN_topic, or NNx_topic for an appendix"
    assert path.stem in course.NOTEBOOKS, "add it to tools.course.NOTEBOOKS"
    assert path.stat().st_size < MAX_MEGABYTES * 1e6, "figures too large: lower the dpi"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stored_in_order_without_errors(path):
    code = [cell for cell in read(path).cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), (
        "run the notebook top to bottom (make notebooks)"
    )
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", cell.source
            assert output.get("name") != "stderr" or "Traceback" not in output.text, cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_are_modest(path):
    for cell in read(path).cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                assert max(png_size(png)) <= MAX_FIGURE_PIXELS, cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_skeleton(path):
    cells = read(path).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert course.expected_problems(path) == [], "run `make sync`"
    headings = [
        line.lower()
        for cell in cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    ]
    for section in ("summary",) if path.stem == "00_start_here" else ("exercises", "summary"):
        assert any(section in heading for heading in headings), f"missing section {section!r}"
    checked = [c for c in cells if c.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in c.source]
    assert checked, "mark at least one profile-independent cell with # NBVAL_CHECK_OUTPUT"


def relative_links(text: str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    return [
        link.split("#")[0] for link in links if not re.match(r"[a-z]+:", link) and link[0] != "#"
    ]


@pytest.mark.parametrize("path", DOCUMENTS + NOTEBOOKS, ids=lambda p: p.name)
def test_relative_links_resolve(path):
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    broken = [link for link in relative_links(text) if not (path.parent / link).exists()]
    assert not broken, f"broken links in {path.name}: {broken}"


@pytest.mark.parametrize(
    "path", [course.ROOT / "README.md", course.NOTEBOOK_DIR / "00_start_here.ipynb"]
)
def test_course_map_lists_every_notebook(path):
    text = path.read_text(encoding="utf-8")
    for stem in course.NOTEBOOKS:
        assert stem in text, f"{path.name} does not mention {stem}"
    assert "glossary.md" in text


def test_start_here_links_the_source_documents_account():
    start = read(course.NOTEBOOK_DIR / "00_start_here.ipynb")
    markdown = "\n".join(c.source for c in start.cells if c.cell_type == "markdown")
    assert "](source_document.md)" in markdown, "00 should link the source document's account"


# A claim of the source document's account: "**S7 — what it says.**", then its Chinese passage
# ("> ..."), the notebook that tests it ("*Tested in* [04](04_unet.ipynb)") and "*Found:* ...".
CLAIM = re.compile(r"(?m)^\*\*(S\d+) — ")


def test_the_source_documents_claims_are_numbered_quoted_and_tested():
    text = (course.NOTEBOOK_DIR / "source_document.md").read_text(encoding="utf-8")
    original = (course.NOTEBOOK_DIR / "source_document.zh.md").read_text(encoding="utf-8")
    ids = CLAIM.findall(text)
    duplicates = sorted({claim for claim in ids if ids.count(claim) > 1})
    assert not duplicates, f"claim ids defined twice: {duplicates}"
    assert ids == [f"S{number}" for number in range(1, len(ids) + 1)], "number claims S1, S2, ..."
    for claim, block in zip(ids, CLAIM.split(text)[2::2], strict=True):
        quotes = [line[2:].strip() for line in block.splitlines() if line.startswith("> ")]
        assert quotes, f"{claim} quotes no Chinese passage"
        for quote in quotes:
            assert quote in original, f"{claim}'s quote is not verbatim in the original: {quote}"
        assert re.search(r"\*Tested in\* \[\w+\]\(\w+\.ipynb\)", block), f"{claim}: no notebook"
        assert "*Found:*" in block, f"{claim} does not say what the course found"


def test_readme_course_map_has_one_row_per_notebook_in_course_order():
    """Lessons and appendices (04a_... right after 04_...), as `tools.course` lists them."""
    text = (course.ROOT / "README.md").read_text(encoding="utf-8")
    assert course.map_problems(text, course.NOTEBOOKS) == []


# The source document's technical terms (Chinese) that the glossary must translate and explain.
SOURCE_TERMS = [
    "编码器",
    "解码器",
    "下采样路径",
    "上采样路径",
    "跳跃连接",
    "嵌套跳跃连接",
    "深度监督",
    "潜在空间",
    "潜在变量",
    "转置卷积",
    "反卷积",
    "卷积核",
    "特征图",
    "池化",
    "上采样因子",
    "插值",
    "图像分割",
    "医学图像分割",
    "卷积神经网络",
    "语义信息",
    "全局上下文信息",
    "局部细节信息",
    "生成模型",
    "无监督学习",
    "KL 散度",
    "正则化",
    "损失函数",
    "重建",
]


def test_glossary_covers_the_seed_terms():
    text = (course.NOTEBOOK_DIR / "glossary.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    missing = [term for term in SOURCE_TERMS if not any(term in row for row in rows)]
    assert not missing, f"glossary lacks {missing}"
    for row in rows:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip("|"))]
        assert len(cells) == 4 and all(cells), f"incomplete glossary row: {row}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_no_control_characters_in_sources(path):
    """A stray "\\a" in a Python string turns "\\approx" into a bell character and broken LaTeX."""
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        source = "".join(cell["source"])
        bad = sorted({hex(ord(c)) for c in source if ord(c) < 32 and c not in "\n\t"})
        assert not bad, f"cell {index} contains control characters {bad}"
