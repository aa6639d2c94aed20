"""The repository holds no secrets, and the scanner does find them when they are there."""
from __future__ import annotations

from pathlib import Path

import pytest

from logintel.settings import mask_url
from logintel.secrets_scan import scan_repo, scan_text

REPO = Path(__file__).resolve().parents[2]
# Test files that plant fake secrets on purpose to prove the scanner works.
ALLOW = {"tests/unit/test_no_secrets.py", "tests/integration/test_security.py",
         "tests/integration/test_plugin.py", "tests/integration/test_report.py"}


def test_repository_has_no_secrets():
    assert scan_repo(REPO, ALLOW) == []


@pytest.mark.parametrize("text", [
    "LOGINTEL_DATABASE_URL=postgresql://logintel:Sup3rS3cret@db:5432/logintel",
    "aws_key = 'AKIAABCDEFGHIJKLMNOP'",
    "-----BEGIN RSA PRIVATE KEY-----",
    'JWT_SECRET = "f3b9c2a1d4e5f60718293a4b5c6d7e8f"',
    "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",
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
    assert mask_url("postgresql://u:p%40ss@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert mask_url("postgresql://u@h/d") == "postgresql://u@h/d"
