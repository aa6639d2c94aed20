"""Find secrets committed to the repository (run by `make test` through tests/unit/test_no_secrets.py)."""
from __future__ import annotations

import hashlib
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
# A test that plants a fake secret on purpose marks that LINE (never a whole file) with this word.
MARKER = "planted-secret"


def tracked_files(repo: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    return [repo / name for name in out.decode().split("\0") if name]


def scan_text(text: str) -> list[str]:
    """Names of the secret kinds found in `text` (lines carrying MARKER excepted)."""
    return sorted({kind for line in text.splitlines() if MARKER not in line for kind in _kinds(line)})


def _kinds(line: str) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if pattern.search(line)]


def fingerprint(secret: str) -> str:
    """A short hash of a matched secret, so an allow-list never has to contain the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def scan_repo(repo: Path) -> list[tuple[str, str]]:
    """(file, kind) of every secret in the files git tracks."""
    found: list[tuple[str, str]] = []
    for path in tracked_files(repo):
        rel = str(path.relative_to(repo))
        if path.suffix in SKIP_SUFFIXES or not path.is_file():
            continue
        found.extend((rel, kind) for kind in scan_text(path.read_text(errors="replace")))
    return found


def scan_history(repo: Path, allowed: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, str, str, str]]:
    """(commit, file, kind, fingerprint) of every secret ADDED by any commit: a secret removed
    later is still in the history. `allowed` holds fingerprints of fake secrets planted by past
    tests before they were marked line by line."""
    out = subprocess.run(["git", "log", "-p", "--all", "--no-color", "--format=commit %H"], cwd=repo,
                         capture_output=True, check=True).stdout.decode("utf-8", "replace")
    found: list[tuple[str, str, str, str]] = []
    commit = path = ""
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line[7:19]
        elif line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else line[4:]
        elif line.startswith("+") and MARKER not in line and Path(path).suffix not in SKIP_SUFFIXES:
            for name, pattern in PATTERNS.items():
                match = pattern.search(line)
                if match and fingerprint(match.group()) not in allowed:
                    found.append((commit, path, name, fingerprint(match.group())))
    return found
