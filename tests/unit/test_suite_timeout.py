"""A hang fails its test instead of stalling the suite: every test runs under pytest-timeout."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_every_test_has_a_timeout(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("timeout"), "pytest-timeout is not installed"
    limit = pytestconfig.getini("timeout")
    assert limit and 0 < float(limit) <= 900, f"pyproject's [tool.pytest.ini_options] timeout is {limit!r}"


def test_a_hanging_test_fails_and_the_run_goes_on(tmp_path: Path):
    """What the timeout does: the hanging test fails with a stack dump, the next one still runs."""
    (tmp_path / "test_hang.py").write_text(textwrap.dedent("""
        import threading, pytest

        @pytest.mark.timeout(2)
        def test_hangs():
            threading.Event().wait()  # a lock never released

        def test_after():
            pass
    """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_hang.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Timeout" in proc.stdout, proc.stdout[-2000:]
    assert "1 failed, 1 passed" in proc.stdout
