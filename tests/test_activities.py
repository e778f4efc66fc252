"""Tests of tools/activities.py: the class activities TEACHING.md quotes, and the mistakes."""

import json
import re

import numpy as np
import pytest

from tools import activities, classroom
from tools.course import NOTEBOOKS, ROOT
from utils import setup

CI = setup.PROFILES["ci"]


def test_the_profiles_table_lists_every_profile():
    lines = activities.profiles_table()
    assert [line.split()[0] for line in lines[1:-1]] == list(setup.PROFILES)
    assert lines[-1].startswith("Outcome: ") and not any(c.isdigit() for c in lines[-1])


def test_convolutions_to_see_a_64_pixel_image():
    counts = activities.convolutions_to_see(64)
    assert counts["plain"] == 32  # 1 + 2 * 32 = 65 >= 64 > 63
    assert counts["dilations 1, 2, 4, ..."] == 6  # 2**7 - 1 = 127 >= 64 > 63
    assert counts["pooling after every two"] < counts["plain"]


def test_only_kernels_the_stride_divides_cover_evenly():
    assert activities.overlap_ratio(2) == 1 and activities.overlap_ratio(4) == 1
    assert activities.overlap_ratio(3) == 4  # 1, 2 or 4 contributions: a checkerboard
    assert activities.overlap_ratio(6, stride=3) == 1 and activities.overlap_ratio(5, stride=3) == 4


def test_shifting_a_mask_lowers_dice_and_raises_hd95():
    scores = activities.shifted_scores(CI, shifts=(0, 1, 2))
    assert scores[0] == {"dice": 1.0, "iou": 1.0, "hd95": 0.0}
    assert scores[1]["dice"] > scores[2]["dice"] and scores[1]["hd95"] <= scores[2]["hd95"]


def test_flops_grow_with_the_pixels():
    flops = activities.flops_by_side(CI, sides=(32, 64))
    for small, large in flops.values():
        np.testing.assert_allclose(large / small, 4, rtol=0.01)


def test_an_answer_replaces_only_the_stub():
    source = "def f(x):\n    return None  # here\n\n\ncases = [1]\ncheck_function(f, g, cases)"
    answered = activities._answered(source, "f", "def f(x):\n    y = x\n    return y")
    assert answered == (
        "def f(x):\n    y = x\n    return y\n\n\ncases = [1]\ncheck_function(f, g, cases)"
    )


def test_every_mistake_is_written_into_its_exercise(tmp_path):
    paths = activities.write_mistakes(tmp_path)
    assert len(paths) == len(activities.MISTAKES)
    for path in paths:
        stem = path.name.removeprefix("mistakes_").removesuffix(".ipynb")
        notebook = json.loads(path.read_text(encoding="utf-8"))
        sources = ["".join(cell["source"]) for cell in notebook["cells"]]
        assert not any("return None  # your code here" in s for s in sources if "def " in s[:4])
        for body in activities.MISTAKES[stem].values():
            assert any(body in source for source in sources), (stem, body[:30])
        assert not any(classroom.SOLUTION_TAG in classroom.tags(c) for c in notebook["cells"])


@pytest.mark.classroom
def test_the_mistakes_of_notebook_01_are_graded_wrong_with_a_reason(tmp_path):
    activities.write_mistakes(tmp_path / "submissions")
    for path in (tmp_path / "submissions").glob("*.ipynb"):
        if "01_convolution" not in path.name:
            path.unlink()
    path = next((tmp_path / "submissions").glob("*.ipynb"))
    graded = classroom.grade_one(path, classroom.sandbox.Limits(seconds=300))
    assert graded["status"] == "ran"
    for exercise, hint in (("Exercise 4", "pads the extra row"), ("Exercise 5", "largest pixel")):
        outcome, message = graded["results"][exercise]
        assert outcome == "wrong" and "values differ" in message and hint in message


TEACHING = ROOT / "TEACHING.md"


def test_teaching_quotes_the_activities_that_do_not_train(capsys):
    text = TEACHING.read_text(encoding="utf-8")
    activities.report(setup.PROFILES["cpu"], ["00", "01", "02", "07"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    missing = [line for line in lines if not line.startswith("## ") and line not in text]
    assert not missing, f"TEACHING.md does not quote: {missing}"


def test_teaching_covers_every_notebook_and_every_coding_exercise():
    text = TEACHING.read_text(encoding="utf-8")
    for stem in NOTEBOOKS:
        assert f"### {stem[:2]} · " in text, stem
    for answers in activities.MISTAKES.values():
        for function in answers:
            assert f"`{function}`" in text, function
    assert "{" not in re.sub(r"x\^\{[ij0-9],[ij0-9]\}", "", text), "a placeholder is left"
