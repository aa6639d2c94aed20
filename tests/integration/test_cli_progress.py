"""The CLI's progress bars (issue 11): on a terminal (a real pseudo-terminal here) `logintel ingest`
and `logintel score` draw rows, rate and time left; in a pipe, and with LOGINTEL_PROGRESS=0, they
print nothing but their results, so scripts and logs read the same output as before."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from logintel.synthetic import generate, write_logs

LOGINTEL = str(Path(sys.executable).with_name("logintel"))
START = datetime(2026, 1, 5, tzinfo=timezone.utc)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_terminal(args: list[str], env: dict) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal; returns (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([LOGINTEL, *args], stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    shown = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        shown += data
    out, _ = proc.communicate(timeout=300)
    os.close(master)
    return proc.returncode, out.decode(), ANSI.sub("", shown.decode(errors="replace"))


def test_progress_bars_on_a_terminal_and_silence_in_pipes(fresh_db, tmp_path):
    path = tmp_path / "app.jsonl"
    write_logs(generate(30_000, days=1, seed=3, start=START), path)
    env = {**os.environ, "LOGINTEL_DATABASE_URL": fresh_db, "COLUMNS": "160"}
    code, out, shown = _on_terminal(["ingest", str(path), "--json"], env)
    assert code == 0, shown
    assert json.loads(out)["loaded"] == 30_000  # stdout is the result only
    # lines done of the total estimated from the file's size, the rate, the time left
    assert re.search(r"ingest .* 30000/\d+ lines", shown), shown[-800:]
    assert re.search(r"[\d,]+ lines/s", shown) and re.search(r"\d:\d\d:\d\d left", shown), shown[-800:]

    train = subprocess.run([LOGINTEL, "train"], capture_output=True, text=True, env=env, timeout=600)
    assert train.returncode == 0, train.stderr
    code, out, shown = _on_terminal(["score"], env)
    assert code == 0, shown
    assert json.loads(out)["scored"] == 30_000
    # the total is known after planning: done of total, the rate and the time left
    assert re.search(r"30000/30000 logs", shown) and re.search(r"[\d,]+ logs/s", shown), shown[-800:]
    assert re.search(r"\d:\d\d:\d\d left", shown), shown[-800:]

    # in a pipe: no bar, nothing but the usual lines
    again = tmp_path / "more.jsonl"
    write_logs(generate(2_000, days=1, seed=4, start=START), again)
    piped = subprocess.run([LOGINTEL, "ingest", str(again), "--json"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert piped.returncode == 0 and json.loads(piped.stdout)["loaded"] == 2_000
    assert "lines/s" not in piped.stderr and "\x1b[" not in piped.stderr

    # turned off on a terminal
    third = tmp_path / "third.jsonl"
    write_logs(generate(2_000, days=1, seed=5, start=START), third)
    code, out, shown = _on_terminal(["ingest", str(third), "--json"], {**env, "LOGINTEL_PROGRESS": "0"})
    assert code == 0 and json.loads(out)["loaded"] == 2_000 and "lines/s" not in shown
