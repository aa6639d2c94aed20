"""Find secrets committed to the repository (run by `make test` through tests/unit/test_no_secrets.py)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

# Each pattern is a kind of secret that must never be committed.
PATTERNS: dict[str, re.Pattern[str]] = {
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:(?!\*\*\*@)(?!\$\{)(?!%\()(?!<)[^\s@/'\"$]{3,}@"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"),
    "assigned secret": re.compile(
        r"(?i)\b(?:password|passwd|secret|api_key|apikey|token|fernet_key|jwt_secret)\b\s*[:=]\s*['\"]?"
        r"(?!\$\{)(?!changeme)(?!<)[A-Za-z0-9/+_\-]{12,}"),
}
SKIP_SUFFIXES = {".png", ".gz", ".bin", ".joblib", ".ico"}


def tracked_files(repo: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    return [repo / name for name in out.decode().split("\0") if name]


def scan_text(text: str) -> list[str]:
    """Names of the secret kinds found in `text`."""
    return [name for name, pattern in PATTERNS.items() if pattern.search(text)]


def scan_repo(repo: Path, allow: set[str] | None = None) -> list[tuple[str, str]]:
    allow = allow or set()
    found: list[tuple[str, str]] = []
    for path in tracked_files(repo):
        rel = str(path.relative_to(repo))
        if path.suffix in SKIP_SUFFIXES or rel in allow or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        found.extend((rel, kind) for kind in scan_text(text))
    return found
