"""Progress of long CLI work: a rich progress bar (rows done, rate, time left) on a terminal,
nothing at all in pipes, files and task logs.

Library functions take an optional :class:`RowProgress` and tell it the total when they know
it (scoring plans its partitions first) and each chunk's rows as it is done; the CLI passes a
bar from :func:`rows_bar`. The DAGs pass none: their task logs stay as they are.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .settings import get_settings


class RowProgress:
    """The hook the library calls; this base does nothing (no terminal, or progress turned off)."""

    def total(self, rows: int | None) -> None:
        """The number of rows the work will take, once known (None: not known)."""

    def advance(self, rows: int) -> None:
        """`rows` more are done."""


class _RichProgress(RowProgress):
    def __init__(self, bar, task) -> None:
        self._bar, self._task = bar, task

    def total(self, rows: int | None) -> None:
        self._bar.update(self._task, total=rows)

    def advance(self, rows: int) -> None:
        self._bar.advance(self._task, rows)


def shown(stream=None) -> bool:
    """A bar only on a terminal, and only when LOGINTEL_PROGRESS is not turned off."""
    stream = sys.stderr if stream is None else stream
    return get_settings().progress and bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def rows_bar(what: str, unit: str = "rows", console=None) -> Iterator[RowProgress]:
    """A progress bar on stderr while the block runs (or the silent base off a terminal).
    `console`: a rich Console to draw on (tests); by default stderr when it is a terminal."""
    if console is None and not shown():
        yield RowProgress()
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """The mean rate so far (rich's own speed column is for bytes, and blank once done)."""

        def render(self, task) -> Text:
            elapsed = task.finished_time if task.finished else task.elapsed
            rate = task.completed / elapsed if elapsed and task.completed else None
            return Text(f"{rate:,.0f} {unit}/s" if rate else f"- {unit}/s")

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn(unit), TextColumn("•"), RateColumn(), TextColumn("•"), TimeElapsedColumn(),
                   TextColumn("elapsed •"), TimeRemainingColumn(), TextColumn("left"),
                   console=console or Console(stderr=True), transient=False)
    with bar:
        yield _RichProgress(bar, bar.add_task(what, total=None))
