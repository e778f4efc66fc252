"""Tests of tools/diff_outputs.py: two executions' text outputs compared cell by cell."""

import json

from tools import diff_outputs


def notebook(*outputs_per_cell):
    cells = [{"cell_type": "markdown", "source": "# title"}]
    cells += [{"cell_type": "code", "source": "", "outputs": list(o)} for o in outputs_per_cell]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def test_chunks_epoch_times_and_images_do_not_count():
    old = notebook(
        [stream("epoch 1/2 · loss 0.5 · 4.2 s\n"), stream("Verdict: a above b\n")],
        [{"output_type": "display_data", "data": {"image/png": "AAA", "text/plain": "<Figure>"}}],
    )
    new = notebook(
        [stream("epoch 1/2 · loss 0.5 · 2.9 s\nVerdict: a above b\n")],
        [{"output_type": "display_data", "data": {"image/png": "BBB", "text/plain": "<Figure>"}}],
    )
    assert diff_outputs.differences(old, new) == []


def test_a_changed_number_error_or_stream_is_reported():
    old = notebook([stream("Dice 0.975\n")], [stream("ok\n")], [])
    new = notebook(
        [stream("Dice 0.974\n")],
        [stream("ok\n", name="stderr")],
        [{"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}],
    )
    changed = diff_outputs.differences(old, new)
    assert [index for index, _ in changed] == [0, 1, 2]
    assert changed[0][1] == ["-stdout: Dice 0.975", "+stdout: Dice 0.974"]
    assert changed[2][1] == ["+error: ValueError: bad"]


def test_main_compares_folders_and_fails_on_a_difference(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    for folder, text in (("old", "1\n"), ("new", "1\n")):
        (tmp_path / folder / "00_a.ipynb").write_text(json.dumps(notebook([stream(text)])))
    assert diff_outputs.main([str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    (tmp_path / "new" / "00_a.ipynb").write_text(json.dumps(notebook([stream("2\n")])))
    assert diff_outputs.main([str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    assert "00_a.ipynb: 1 code cells differ" in capsys.readouterr().out
    assert diff_outputs.main([str(tmp_path / "old")]) == 2
