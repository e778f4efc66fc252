"""Tests of tools/rerun_verdicts.py on small hand-made notebooks: nothing is executed."""

import hashlib
import shutil

from tools import rerun_verdicts
from tools.notebooks import write_notebook


def code(*outputs):
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "outputs": list(outputs),
        "source": ["print('...')"],
    }


def stdout(text):
    return {"name": "stdout", "output_type": "stream", "text": text}


def notebook(*cells):
    return {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Title"]}, *cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 4,
    }


STORED = notebook(
    code(
        stdout(["Scores over 3 seeds\n", "Verdict: UNet++ beats UNet on dice.\n", "0.7 vs 0.6\n"])
    ),
    code(stdout("no verdict here\n")),
    code(
        {"name": "stderr", "output_type": "stream", "text": "Verdict: on stderr, not counted\n"},
        {
            "data": {"text/plain": ["'Verdict: a returned value, not printed'"]},
            "execution_count": 3,
            "metadata": {},
            "output_type": "execute_result",
        },
        stdout("  Verdict: inconclusive for hd95.  \n"),
    ),
)


def test_verdicts_are_stdout_lines_that_start_with_verdict():
    lines, errors = rerun_verdicts.verdicts(STORED)
    assert lines == [
        (0, "Verdict: UNet++ beats UNet on dice."),
        (2, "Verdict: inconclusive for hd95."),
    ]  # code cells counted from 0, markdown skipped; stripped
    assert errors == 0


def test_error_outputs_are_counted():
    failed = notebook(code({"output_type": "error", "ename": "ValueError", "evalue": "x"}))
    assert rerun_verdicts.verdicts(failed) == ([], 1)


def test_mismatches_are_the_verdicts_only_one_run_printed():
    stored = [(0, "Verdict: A beats B."), (2, "Verdict: inconclusive.")]
    rerun = [(0, "Verdict: A beats B."), (2, "Verdict: B beats A.")]
    assert rerun_verdicts.mismatches(stored, stored) == []
    assert rerun_verdicts.mismatches(stored, rerun) == [
        (2, "Verdict: inconclusive."),
        (2, "Verdict: B beats A."),
    ]
    # The same verdict in another cell moved too.
    assert rerun_verdicts.mismatches([(0, "Verdict: x")], [(1, "Verdict: x")]) == [
        (0, "Verdict: x"),
        (1, "Verdict: x"),
    ]


def test_compare_reports_counts_mismatches_and_errors(tmp_path):
    stored, same, moved = tmp_path / "stored.ipynb", tmp_path / "same.ipynb", tmp_path / "m.ipynb"
    write_notebook(stored, STORED)
    write_notebook(same, STORED)
    changed = notebook(
        code(stdout("Verdict: UNet beats UNet++ on dice.\n")),
        code({"output_type": "error", "ename": "E", "evalue": "", "traceback": []}),
    )
    write_notebook(moved, changed)

    lines, ok = rerun_verdicts.compare(stored, same, 12.4)
    assert ok and lines == [f"{stored}: stored 2 verdicts, rerun 2, mismatches 0, errors 0, 12 s"]
    lines, ok = rerun_verdicts.compare(stored, moved, 3)
    assert not ok
    assert lines == [
        "  cell 0: Verdict: UNet++ beats UNet on dice.",
        "  cell 2: Verdict: inconclusive for hd95.",
        "  cell 0: Verdict: UNet beats UNet++ on dice.",
        f"{stored}: stored 2 verdicts, rerun 1, mismatches 3, errors 1, 3 s",
    ]
    lines, ok = rerun_verdicts.compare(stored, tmp_path / "never-written.ipynb", 1)
    assert not ok and lines == [f"{stored}: did not run to the end (see the log)"]


def test_the_rerun_uses_the_cpu_profile_an_empty_cache_and_onednn_off_by_default(tmp_path):
    env = rerun_verdicts.environment({"PATH": "/bin", "COURSE_PROFILE": "ci"}, tmp_path / "c")
    assert env["COURSE_PROFILE"] == "cpu" and env["COURSE_CACHE"] == str(tmp_path / "c")
    assert env["TF_ENABLE_ONEDNN_OPTS"] == "0" and env["PATH"] == "/bin"
    env = rerun_verdicts.environment({"TF_ENABLE_ONEDNN_OPTS": "1"}, tmp_path)
    assert env["TF_ENABLE_ONEDNN_OPTS"] == "1"


def test_main_compares_each_notebook_and_never_touches_the_stored_ones(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    good, bad = folder / "01_good.ipynb", folder / "02_bad.ipynb"
    write_notebook(good, STORED)
    write_notebook(bad, STORED)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (good, bad)}
    runs = []

    def fake_run(path, out, log, env):  # stands in for nbconvert: "reruns" into out/
        runs.append((path.name, env["COURSE_PROFILE"], env["COURSE_CACHE"]))
        out.mkdir(exist_ok=True)
        log.write_text("ran\n")
        if path.name == "01_good.ipynb":
            shutil.copy(path, out / path.name)
        else:
            write_notebook(out / path.name, notebook(code(stdout("Verdict: moved.\n"))))

    work = tmp_path / "work"
    assert rerun_verdicts.main([str(good)], run=fake_run, work=work) == 0
    assert rerun_verdicts.main([], run=fake_run, work=work, folder=folder) == 1
    printed = capsys.readouterr().out
    assert f"{good}: stored 2 verdicts, rerun 2, mismatches 0, errors 0" in printed
    assert "  cell 0: Verdict: moved." in printed and "mismatches 3" in printed
    assert f"rerun outputs and logs: {work}" in printed
    assert [name for name, *_ in runs] == ["01_good.ipynb", "01_good.ipynb", "02_bad.ipynb"]
    assert all(profile == "cpu" and cache == str(work / "cache") for _, profile, cache in runs)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (good, bad)} == before
    assert rerun_verdicts.main([str(folder / "missing.ipynb")], run=fake_run, work=work) == 2


def test_the_rerun_writes_to_its_own_folder_never_in_place(tmp_path):
    command = rerun_verdicts.command(tmp_path / "04_unet.ipynb", tmp_path / "out")
    assert "--inplace" not in command
    assert command[command.index("--output-dir") + 1] == str(tmp_path / "out")
    assert command[-1] == str(tmp_path / "04_unet.ipynb") and "--execute" in command
