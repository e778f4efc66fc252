"""Tests of tools/course.py: one repository address drives badges and the Colab fetch."""

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import classroom, course, rerun_verdicts, site
from tools.notebooks import notebook_text, read_notebook, write_notebook
from utils import answers
from utils.exercises import ValueExercise


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
    assert stems == course.course_order(stems) and stems[0] == "00_start_here"
    assert [path.stem for path in course.notebook_paths()] == stems
    lessons = [stem for stem in stems if not course.is_appendix(stem)]
    assert len(lessons) == 8


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


# --- one way to read and write notebooks (tools/notebooks.py) -----------------------------------


def test_every_stored_notebook_reads_and_writes_back_unchanged(tmp_path):
    for path in course.notebook_paths():
        copy = tmp_path / path.name
        assert write_notebook(copy, read_notebook(path)) is True
        assert copy.read_bytes() == path.read_bytes(), f"{path.name} would change on `make sync`"
        assert write_notebook(copy, read_notebook(copy)) is False  # same text: not rewritten


def test_notebooks_are_written_as_nbformat_writes_them(tmp_path):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {"trusted": True}, "source": "# Tïtle\n\nβ"},
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "outputs": [
                    {"name": "stdout", "output_type": "stream", "text": "a\nb\n"},
                    {
                        "data": {"text/plain": "1\n2", "image/png": "iVBOR\nw0"},
                        "metadata": {},
                        "output_type": "display_data",
                    },
                ],
                "source": "x = 1\nprint(x)",
            },
        ],
        "metadata": {"orig_nbformat": 4, "kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    expected = nbformat.writes(nbformat.from_dict(notebook)) + "\n"
    assert notebook_text(notebook) == expected
    assert notebook["cells"][1]["source"] == "x = 1\nprint(x)"  # the argument is not changed
    write_notebook(tmp_path / "n.ipynb", notebook)
    assert (tmp_path / "n.ipynb").read_text(encoding="utf-8") == expected
    assert "Tïtle" in expected  # not escaped


# --- appendices: NNx_topic.ipynb, right after lesson NN, everywhere a notebook is ---------------

ORDER = ["04_unet", "04a_receptive_fields", "04b_more_fields", "05_next"]


def fake_notebook(stem):
    """A course notebook in step with tools/course.py, with one exercise checked by name."""
    exercise = {
        "cell_type": "code",
        "execution_count": 2,
        "metadata": {"tags": ["exercise"]},
        "outputs": [{"name": "stdout", "output_type": "stream", "text": ["Verdict: A.\n"]}],
        "source": f'check(answer, exercise="{stem.split("_")[0]}.1")',
    }
    return {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": f"# {stem}\n\n{course.badges(stem)}",
            },
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "outputs": [],
                "source": course.SETUP_CELL,
            },
            exercise,
            {"cell_type": "markdown", "metadata": {"tags": ["solution"]}, "source": "answer = 2"},
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 4,
    }


def course_map(stems):
    rows = [f"| {s.split('_')[0]} | [{s}](notebooks/{s}.ipynb) | what it teaches |" for s in stems]
    return "## Course map\n\n| # | Notebook | What it teaches |\n|---|---|---|\n" + "\n".join(rows)


@pytest.fixture
def folder(tmp_path):
    """notebooks/: two lessons, two appendices of the first, a glossary; written out of order."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for stem in ("05_next", "04b_more_fields", "04_unet", "04a_receptive_fields"):
        write_notebook(folder / f"{stem}.ipynb", fake_notebook(stem))
    (folder / "glossary.md").write_text("# Glossary\n", encoding="utf-8")
    return folder


def test_an_appendix_is_named_after_its_lesson():
    assert course.is_appendix("04a_receptive_fields") and not course.is_appendix("04_unet")
    for stem in ("04ab_x", "4a_x", "04A_x", "04a-x", "glossary"):
        assert not course.is_appendix(stem) and not course.is_course_notebook(stem), stem
    shuffled = ["05_next", "04b_more_fields", "04_unet", "04a_receptive_fields"]
    assert course.course_order(shuffled) == ORDER
    with pytest.raises(ValueError, match="neither a lesson"):
        course.order_key("notes")


def test_the_course_lists_and_checks_appendices_in_order(folder, tmp_path):
    (folder / "scratch.ipynb").write_text(json.dumps(fake_notebook("scratch")), encoding="utf-8")
    assert [path.stem for path in course.notebook_paths(folder)] == ORDER
    readme = tmp_path / "README.md"
    readme.write_text(course_map(ORDER), encoding="utf-8")
    assert course.map_stems(readme.read_text(encoding="utf-8")) == ORDER
    # Only the stray file is out of step: the appendices are on the map, in order, in step.
    assert course.out_of_step(folder, ORDER, readme) == [
        "scratch.ipynb: name it NN_topic (a lesson) or NNx_topic (an appendix)"
    ]
    (folder / "scratch.ipynb").unlink()
    assert course.out_of_step(folder, ORDER, readme) == []
    # An appendix missing from the map, or mapped out of order, or off NOTEBOOKS, is reported.
    readme.write_text(course_map([s for s in ORDER if s != "04a_receptive_fields"]))
    assert "missing ['04a_receptive_fields']" in course.out_of_step(folder, ORDER, readme)[0]
    readme.write_text(course_map(["04a_receptive_fields", "04_unet", *ORDER[2:]]))
    assert "order" in course.out_of_step(folder, ORDER, readme)[0]
    readme.write_text(course_map(ORDER))
    assert course.out_of_step(folder, ["04_unet", "04b_more_fields", "05_next"], readme)
    assert course.out_of_step(folder, ["04a_receptive_fields", "04_unet", *ORDER[2:]], readme)


def test_student_copies_and_grading_include_appendices(folder, tmp_path, monkeypatch):
    written = classroom.write_student_copies(tmp_path / "students", folder)
    assert [path.stem for path in written] == ORDER
    copy = read_notebook(tmp_path / "students" / "04a_receptive_fields.ipynb")
    assert all("solution" not in classroom.tags(cell) for cell in copy["cells"])

    assert classroom.course_notebook("alice-04a_receptive_fields (1).ipynb", ORDER) == ORDER[1]
    assert classroom.course_notebook("bob/04_unet.ipynb", ORDER) == "04_unet"
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(
        folder / "04a_receptive_fields.ipynb", submissions / "alice_04a_receptive_fields.ipynb"
    )

    def graded(path, *args, **kwargs):  # grading runs the notebook: here, what it would record
        return {
            "status": "ran",
            "detail": "",
            "results": {"Exercise 1": ("correct", "")},
            "seconds": 0.0,
        }

    appendix = ValueExercise("04a.1", lambda profile: 2, lambda answer: "")
    monkeypatch.setitem(answers.EXERCISES, "04a.1", appendix)  # its exercise, in the answer key
    monkeypatch.setattr(classroom, "grade_one", graded)
    csv_path = classroom.grade(submissions, tmp_path / "grades", source=folder, unsandboxed=True)
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert [(row["notebook"], row["exercise"], row["outcome"]) for row in rows] == [
        ("04a_receptive_fields", "Exercise 1", "correct")
    ]
    assert answers.exercises_of("04a_receptive_fields") == ["04a.1"]
    assert "04a.1" not in answers.exercises_of("04_unet")


def test_the_site_stages_appendices_in_course_order(folder, tmp_path):
    staged = site.stage(tmp_path / "site-src", folder)
    assert {f"{stem}.ipynb" for stem in ORDER} <= {path.name for path in staged.iterdir()}
    index = (staged / "index.md").read_text(encoding="utf-8")
    toc = index.split(":caption: Notebooks\n:hidden:\n\n", 1)[1].split("\n```", 1)[0]
    assert toc.split("\n") == ORDER  # the pages' previous / next links follow this order


def test_nbval_collects_appendices_in_course_order(folder):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-c", "pyproject.toml"]
        + ["--rootdir", str(folder), str(folder)],
        cwd=course.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    files = [line.split("::")[0] for line in result.stdout.splitlines() if ".ipynb::" in line]
    assert list(dict.fromkeys(Path(name).stem for name in files)) == ORDER


def test_make_notebooks_and_the_verdict_rerun_take_appendices_in_order(folder, tmp_path):
    for target in ("notebooks", "rerun-verdicts"):
        result = subprocess.run(
            ["make", "-n", target, f"NOTEBOOK_DIR={folder}"],
            cwd=course.ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        line = next(line for line in result.stdout.splitlines() if str(folder) in line)
        assert re.findall(r"/(\w+)\.ipynb", line) == ORDER, target
    runs = []

    def fake_run(path, out, log, env):
        runs.append(path.stem)

    assert rerun_verdicts.main([], run=fake_run, work=tmp_path / "work", folder=folder) == 1
    assert runs == ORDER  # (nothing ran: every notebook "did not run to the end")


def test_every_lesson_fits_one_class():
    """Issue 31: a numbered notebook is one 90-minute class; appendices hold the deep dives."""
    for path in course.notebook_paths():
        found = course.size(path)
        if course.is_appendix(path.stem) or path.stem == "00_start_here":
            continue  # 00's map is a table; appendices are optional reading
        assert found["words"] <= course.LESSON_LIMITS["words"], (path.stem, found)
        assert found["code"] <= course.LESSON_LIMITS["code"] * 1.05, (path.stem, found)
        assert found["longest"] <= course.LESSON_LIMITS["longest"] * 1.1, (path.stem, found)


def test_sizes_prints_every_notebook(capsys):
    assert course.main(["sizes"]) == 0
    printed = capsys.readouterr().out
    assert all(path.stem in printed for path in course.notebook_paths())
