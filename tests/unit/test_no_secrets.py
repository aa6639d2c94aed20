"""The repository holds no secrets, and the scanner does find them when they are there."""
from __future__ import annotations

from pathlib import Path

import pytest

from logintel.settings import mask_url
from logintel.secrets_scan import MARKER, fingerprint, scan_history, scan_repo, scan_text

REPO = Path(__file__).resolve().parents[2]
# Fake secrets that tests planted in past commits, before each such line carried the marker
# (fingerprints, so the list holds no secret): the fakes of the security, plugin, report,
# settings and scanner tests, and a `user:pass` placeholder an old README showed.
HISTORY_PLANTED = {
    "f363d71534ae4ecc", "9df6124c3eef7434", "35a6285478204252", "00e914c1fd5e5cf6", "46932bbdd3925f69",
    "457643f44d19aed8", "56d52a03d27dc734", "033cf2deb8639066", "60247ce908ce939a", "949d11af486f66a5",
    "ffccf62d0ceef4a0", "8bcac7908eb95041", "03d5af7872b28b44", "3ac9e3389e999578", "3ebc701b7c630874",
    "63b92ab80c7f7e97", "7281bb16964278a1", "d3d94a4be374679a",
}


def test_repository_has_no_secrets():
    """Every tracked file, whole: only lines marked as planted fakes are exempt, never a file."""
    assert scan_repo(REPO) == []


def test_history_has_no_secrets():
    """Every line any commit added: a secret committed and removed later is still published."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    assert scan_history(REPO, HISTORY_PLANTED) == []


def test_the_marker_exempts_a_line_not_a_file():
    secret = "postgresql://logintel:Sup3rS3cret@db:5432/logintel"  # planted-secret
    assert scan_text(f"{secret}  # {MARKER}") == []
    assert scan_text(f"{secret}  # {MARKER}\n{secret}") == ["password in a URL"]
    assert len(fingerprint(secret)) == 16 and secret not in fingerprint(secret)


def test_history_scan_finds_a_secret_that_was_removed(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "a.env").write_text("DB=postgresql://app:Hist0ry-Leak-1@db/app\n")  # planted-secret
    git("add", "a.env")
    git("commit", "-qm", "add")
    (tmp_path / "a.env").write_text("DB=postgresql://app@db/app\n")
    git("commit", "-qam", "remove")
    assert scan_repo(tmp_path) == []
    found = scan_history(tmp_path)
    assert [(f, k) for _, f, k, _ in found] == [("a.env", "password in a URL")]


@pytest.mark.parametrize("text", [
    "LOGINTEL_DATABASE_URL=postgresql://logintel:Sup3rS3cret@db:5432/logintel",  # planted-secret
    "aws_key = 'AKIAABCDEFGHIJKLMNOP'",  # planted-secret
    "-----BEGIN RSA PRIVATE KEY-----",  # planted-secret
    'JWT_SECRET = "f3b9c2a1d4e5f60718293a4b5c6d7e8f"',  # planted-secret
    "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",  # planted-secret
])
def test_scanner_finds_planted_secrets(text):
    assert scan_text(text)


@pytest.mark.parametrize("text", [
    "postgresql://postgres@127.0.0.1:5432/logintel",
    "postgresql://logintel:***@db:5432/logintel",
    'connection_string="${LOGINTEL_DATABASE_URL}"',
    "POSTGRES_PASSWORD=",
    "postgresql://logintel:<password>@host:5432/logintel",
    "postgresql://logintel:${LOGINTEL_DB_PASSWORD}@postgres:5432/logintel",
])
def test_scanner_ignores_placeholders(text):
    assert scan_text(text) == []


def test_mask_url_hides_passwords():
    assert mask_url("postgresql://u:p%40ss@h:5432/d") == "postgresql://u:***@h:5432/d"  # planted-secret
    assert mask_url("postgresql://u@h/d") == "postgresql://u@h/d"
