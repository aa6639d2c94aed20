"""Template keys and durations from a helper process, so a big load masks on the other core.

Ingest's Python work is one thread's (the GIL): reading and parsing, masking, the dedupe keys and
the COPY rows. Masking is the largest part (about 8 µs a distinct message), and it is pure, as
is reading a message's duration (``durations.message_duration_ms``, about 2 µs), so a chunk's
messages go to a helper process (:func:`main`, run by the same interpreter with this package
first on its path) while the loader works out the chunk's other columns; keys and durations come back in the
chunk's order. The helper is a plain subprocess with pipes, not ``multiprocessing``: it
starts the same way in the CLI, in an Airflow task (a daemon process may not fork a
``multiprocessing`` child) and under Celery. Where it cannot start, keys are computed in-process,
as before: the results are the same either way (one ``masking`` module, one ``MASKER_VERSION``).

Protocol: each request and each reply is a 4-byte big-endian length and msgpack: an array of
messages in, [keys, durations] out; an empty request ends the helper.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import msgspec

from .durations import message_duration_ms
from .masking import thread_masker

log = logging.getLogger(__name__)

_encode = msgspec.msgpack.Encoder().encode
_decode_strings = msgspec.msgpack.Decoder(list[str]).decode
_decode_reply = msgspec.msgpack.Decoder(tuple[list[str], list[float]]).decode
Reply = Callable[[], "tuple[list[str], list[float]]"]


def keys_and_durations(messages: list[str]) -> tuple[list[str], list[float]]:
    """Each message's template key (this thread's masker) and duration in ms (NaN: none)."""
    return thread_masker().keys(messages), [message_duration_ms(m) for m in messages]


# the helper's command: this package first on its path (the same code as the loader's), then main()
_HELPER = "import sys; sys.path.insert(0, sys.argv[1]); from logintel.masking_worker import main; sys.exit(main())"


class MaskingWorkerError(RuntimeError):
    """The helper process died or answered out of turn: the batch is rolled back."""


def _write_frame(out: BinaryIO, payload: bytes) -> None:
    out.write(len(payload).to_bytes(4, "big"))
    out.write(payload)
    out.flush()


def _read_frame(inp: BinaryIO) -> bytes | None:
    head = inp.read(4)
    if len(head) < 4:
        return None
    size = int.from_bytes(head, "big")
    payload = inp.read(size)
    if len(payload) < size:
        return None
    return payload


class MaskingWorker:
    """One helper process; `submit(messages)` sends a chunk and returns the function that waits
    for its keys and durations. Requests are answered in order; use it from one thread at a time."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parents[1])  # this very code, whatever the path
        self._proc = subprocess.Popen([sys.executable, "-c", _HELPER, package_root], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE)

    def submit(self, messages: list[str]) -> Reply:
        if not messages:  # an empty frame would end the helper
            return lambda: ([], [])
        try:
            _write_frame(self._proc.stdin, _encode(messages))
        except (BrokenPipeError, OSError) as exc:
            raise MaskingWorkerError(f"the masking helper process died (exit code {self._proc.poll()})") from exc
        expected = len(messages)

        def reply() -> tuple[list[str], list[float]]:
            payload = _read_frame(self._proc.stdout)
            if payload is None:
                raise MaskingWorkerError(f"the masking helper process died (exit code {self._proc.wait()})")
            keys, durations = _decode_reply(payload)
            if len(keys) != expected or len(durations) != expected:
                raise MaskingWorkerError(f"the masking helper answered {len(keys)} keys for {expected} messages")
            return keys, durations

        return reply

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                _write_frame(self._proc.stdin, b"")
                self._proc.stdin.close()
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        finally:
            if self._proc.stdout:
                self._proc.stdout.close()


class InProcessMasking:
    """The same interface, masking in this thread (one core, a small load, or no helper)."""

    def submit(self, messages: list[str]) -> Reply:
        done = keys_and_durations(messages)
        return lambda: done

    def close(self) -> None:
        pass


def start(wanted: bool) -> MaskingWorker | InProcessMasking:
    """A helper process when `wanted` and the machine has a second core, else in-process masking
    (also when the helper cannot be started: logged, never an error)."""
    if not wanted or (os.cpu_count() or 1) < 2:
        return InProcessMasking()
    try:
        worker = MaskingWorker()
        log.info("masking in a helper process (pid %d)", worker._proc.pid)
        return worker
    except OSError as exc:
        log.warning("masking in-process: the helper process did not start (%s)", exc)
        return InProcessMasking()


def main() -> int:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while (payload := _read_frame(inp)) is not None and payload:
        _write_frame(out, _encode(keys_and_durations(_decode_strings(payload))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
