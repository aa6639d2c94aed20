"""Expectation suites: what a good batch of logs looks like, and what a finding is."""
from __future__ import annotations

from ..levels import LEVELS

LOGS_SUITE = "logs_quality"
FINDINGS_SUITE = "prediction_findings"
MAX_MESSAGE_LENGTH = 10_000


def logs_quality_suite(gx):
    """Row rules the ingest cannot enforce alone; each failed one is a recorded finding."""
    E = gx.expectations
    suite = gx.ExpectationSuite(name=LOGS_SUITE)
    for exp in (
        E.ExpectColumnValuesToBeInSet(column="level", value_set=list(LEVELS)),
        E.ExpectColumnValuesToNotBeNull(column="message"),
        # On the computed length, never on the text: GX shows failing values in Data Docs
        # unescaped, and messages may carry HTML and <script> tags.
        E.ExpectColumnValuesToBeBetween(column="message_length", min_value=1, max_value=MAX_MESSAGE_LENGTH),
        E.ExpectColumnValuesToNotBeNull(column="ts"),
        # Computed in SQL against the server clock plus a tolerance (see quality/run.py).
        E.ExpectColumnValuesToBeInSet(column="ts_in_future", value_set=[False]),
        E.ExpectColumnValuesToNotBeNull(column="service"),
        E.ExpectColumnValuesToBeUnique(column="dedupe_key"),
    ):
        suite.add_expectation(exp)
    return suite


def findings_suite(gx):
    """A champion prediction must agree with the recorded level and anomaly flag."""
    E = gx.expectations
    suite = gx.ExpectationSuite(name=FINDINGS_SUITE)
    suite.add_expectation(E.ExpectColumnValuesToBeNull(column="level_issue"))
    suite.add_expectation(E.ExpectColumnValuesToBeNull(column="anomaly_issue"))
    return suite
