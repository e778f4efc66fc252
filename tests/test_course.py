"""Tests of tools/course.py: one repository address drives badges and the Colab fetch."""

import json
import shutil

from tools import course


def test_urls_follow_the_repository():
    assert course.colab_url("04_unet") == (
        f"https://colab.research.google.com/github/{course.REPOSITORY}/blob/main/notebooks/04_unet.ipynb"
    )
    assert course.binder_url("04_unet") == (
        f"https://mybinder.org/v2/gh/{course.REPOSITORY}/main?labpath=notebooks%2F04_unet.ipynb"
    )
    assert f"https://github.com/{course.REPOSITORY}" in course.SETUP_CELL


def test_map_is_in_course_order():
    stems = list(course.NOTEBOOKS)
    assert stems == sorted(stems) and stems[0] == "00_start_here" and len(stems) == 8


def test_sync_rewrites_stale_badges_and_setup(tmp_path, monkeypatch):
    source = course.NOTEBOOK_DIR / "00_start_here.ipynb"
    path = tmp_path / source.name
    shutil.copy(source, path)
    assert course.expected_problems(path) == []
    assert course.sync(path) is False  # already in step: untouched

    monkeypatch.setattr(course, "REPOSITORY", "someone/fork")
    monkeypatch.setattr(course, "SETUP_CELL", course.SETUP_CELL.replace("first-principles", "x"))
    assert len(course.expected_problems(path)) == 2
    assert course.sync(path) is True
    assert course.expected_problems(path) == []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert "someone/fork" in "".join(cells[0]["source"])


def test_check_reports_every_notebook_in_step(capsys):
    assert course.main(["check"]) == 0, capsys.readouterr().out
