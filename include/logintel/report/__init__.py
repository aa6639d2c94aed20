"""The HTML report (data, plots, Jinja template) and the terminal summary."""
from __future__ import annotations

from .html import write_report

__all__ = ["write_report"]
