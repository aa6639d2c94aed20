"""The shared vocabulary: level names, finding kinds, column and file names.

One home for the names every layer uses (library, SQL-facing code, report, plugin), so they
cannot drift apart. Tiny and import-free: DAG files and the plugin import it at parse time.
"""
from __future__ import annotations

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
# Level probabilities as columns of a frame: p_DEBUG .. p_FATAL.
PROB_COLUMNS = tuple(f"p_{level}" for level in LEVELS)

LEVEL_KINDS = ("level_understated", "level_overstated")
ANOMALY_KINDS = ("missed_anomaly", "false_anomaly")
FINDING_KINDS = LEVEL_KINDS + ANOMALY_KINDS

# The HTML report in the reports folder (written by the scoring DAG, served by the plugin).
REPORT_FILE = "logintel_report.html"
