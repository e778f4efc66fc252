"""Tests of tools/notebook_runs.py: `make notebooks` records each notebook's time and memory."""

import json

from tools import notebook_runs


def _notebook(path, source):
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    notebook = {
        "cells": [{**cell, "source": source}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def test_a_run_stores_the_outputs_and_measures_the_kernel(tmp_path):
    # The kernel holds 400 MB (written, so resident) for a second, and a child of it 300 MB: the
    # peak counts them together, the largest process is the kernel.
    source = (
        "import subprocess, sys, time\n"
        "x = b'x' * 400_000_000\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time; y = b\"y\" * 300_000_000; time.sleep(2)'])\n"
        "time.sleep(1.5)\n"
        "child.wait()\n"
        "print(len(x))"
    )
    path = _notebook(tmp_path / "big.ipynb", source)
    entry = notebook_runs.run(path)
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["cells"][0]["outputs"][0]["text"] == ["400000000\n"]
    assert entry["peak_memory_gb"] > 0.7 and entry["seconds"] > 0
    assert 0.4 < entry["largest_process_gb"] < entry["peak_memory_gb"]
    assert entry["cores"] >= 1


def test_the_table_reads_the_record_and_flags_a_notebook_over_binders_budget(tmp_path):
    record = tmp_path / "runs.json"
    assert "no notebook runs recorded" in notebook_runs.table(record)
    entries = {
        "01_small": {"seconds": 75, "peak_memory_gb": 0.8, "cores": 1, "profile": "cpu"},
        "06_big": {"seconds": 300, "peak_memory_gb": 1.6, "cores": 2, "profile": "cpu"},
    }
    for entry in entries.values():
        entry["date"] = "2026-12-05"
    record.write_text(json.dumps(entries), encoding="utf-8")
    lines = notebook_runs.table(record).splitlines()
    assert lines[1].startswith("01_small") and "1 min 15 s" in lines[1] and "over" not in lines[1]
    assert lines[2].startswith("06_big") and lines[2].endswith("over the budget")
