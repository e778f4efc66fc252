"""Tests of tools/sandbox.py: what a sandboxed process can and cannot do, and its limits.

They run plain Python in the sandbox (no notebook), a second or so each. The sandbox needs
bubblewrap: `make classroom` (CI) runs them, after .ci/run installed it.
"""

import subprocess
import textwrap

import pytest

from tools import sandbox
from utils.config import ROOT

pytestmark = pytest.mark.classroom  # CI's `make classroom`, which installs bubblewrap first


def sandboxed(tmp_path, code, limits=None):
    """Run `code` with this Python inside the sandbox around `tmp_path`: (outcome, stdout)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    sandbox.prepare(scratch)
    (scratch / "code.py").write_text(textwrap.dedent(code), encoding="utf-8")
    inside = sandbox.INSIDE / "notebooks"
    argv = sandbox.command(scratch, [sandbox.python_inside(), str(inside / "code.py")])
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(sandbox.INSIDE), "HOME": str(inside)}
    limits = limits or sandbox.Limits(seconds=60)
    outcome = sandbox.run(argv + [], environment, limits, cwd=scratch)
    output = scratch / "out.txt"
    return outcome, output.read_text(encoding="utf-8") if output.exists() else ""


def test_isolation_is_available_here():
    assert sandbox.isolation_problem() is None


def test_what_a_sandboxed_process_sees(tmp_path):
    outcome, out = sandboxed(
        tmp_path,
        """
        import os, socket
        from pathlib import Path
        lines = [f"uid {os.getuid()}"]
        lines.append("key " + repr(Path("../utils/answers.py").read_text()))
        lines.append("notebooks " + str(sorted(os.listdir("."))))
        for target in ("../utils/evil.py", "/etc/evil", "../README.md"):
            try:
                Path(target).write_text("x")
                lines.append(f"wrote {target}")
            except OSError as error:
                lines.append(f"refused {target}: {error.strerror}")
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=3)
            lines.append("network")
        except OSError as error:
            lines.append(f"no network: {error.strerror}")
        Path("out.txt").write_text("\\n".join(lines))
        """,
    )
    assert outcome.status == "finished" and outcome.returncode == 0, outcome
    lines = out.splitlines()
    assert lines[0] != "uid 0"  # never root: the process limit binds
    assert lines[1] == "key ''"  # the answer key is empty in there
    assert lines[2] == "notebooks ['code.py', 'tmp']"  # its own scratch, no teacher's notebook
    assert all(line.startswith("refused") for line in lines[3:6]), lines
    assert lines[6] == "no network: Network is unreachable"
    assert not (ROOT / "utils" / "evil.py").exists()


def test_time_limit_kills_the_whole_tree(tmp_path):
    outcome, _ = sandboxed(
        tmp_path,
        """
        import os, time
        if os.fork() == 0:
            time.sleep(120)  # a child that would outlive its parent
        time.sleep(120)
        """,
        sandbox.Limits(seconds=2),
    )
    assert outcome.status == "timed out"
    leftovers = subprocess.run(["pgrep", "-f", "code.py"], capture_output=True, text=True)
    assert str(tmp_path) not in leftovers.stdout and leftovers.stdout.strip() == ""


def test_resident_memory_is_limited_not_address_space(tmp_path):
    outcome, out = sandboxed(
        tmp_path,
        """
        import mmap
        from pathlib import Path
        reserved = mmap.mmap(-1, 8 * 2**30)  # 8 GiB reserved and never touched: allowed
        Path("out.txt").write_text("reserved")
        chunks = []
        for _ in range(32):  # at most 4 GiB, written: resident
            chunks.append(bytearray(2**27))
        """,
        sandbox.Limits(seconds=60, memory_bytes=600 * 2**20),
    )
    assert out == "reserved"
    assert outcome.status == "killed for memory", outcome
    assert outcome.peak_bytes > 600 * 2**20


def test_processes_are_limited(tmp_path):
    outcome, out = sandboxed(
        tmp_path,
        """
        import os, resource, time
        from pathlib import Path
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        started = 0
        try:
            for _ in range(1000):  # bounded, even if the limit failed
                if os.fork() == 0:
                    time.sleep(2)
                    os._exit(0)
                started += 1
        except OSError as error:
            Path("out.txt").write_text(f"refused after {started}: {error.strerror}")
        """,
    )
    assert outcome.status == "finished"
    assert out.startswith("refused after") and "Resource temporarily unavailable" in out, out
    assert int(out.split()[2].rstrip(":")) < 64
