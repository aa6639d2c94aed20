"""Expectation suites: what a good batch of logs looks like, and what a finding is."""
from __future__ import annotations

from ..levels import LEVELS

LOGS_SUITE = "logs_quality"
FINDINGS_SUITE = "prediction_findings"
COVERAGE_SUITE = "scoring_coverage"
DRIFT_SUITE = "scoring_drift"
MAX_MESSAGE_LENGTH = 10_000


def logs_quality_suite(gx):
    """Row rules the ingest cannot enforce alone; each failed one is a recorded finding."""
    E = gx.expectations
    suite = gx.ExpectationSuite(name=LOGS_SUITE)
    for exp in (
        E.ExpectColumnValuesToBeInSet(column="level", value_set=list(LEVELS),
                                      description="every log's level is one of " + ", ".join(LEVELS)),
        E.ExpectColumnValuesToNotBeNull(column="message", description="every log has a message"),
        # On the computed length, never on the text: GX shows failing values in Data Docs
        # unescaped, and messages may carry HTML and <script> tags.
        E.ExpectColumnValuesToBeBetween(column="message_length", min_value=1, max_value=MAX_MESSAGE_LENGTH,
                                        description=f"a message is 1 to {MAX_MESSAGE_LENGTH:,} characters long"),
        E.ExpectColumnValuesToNotBeNull(column="ts", description="every log has a timestamp"),
        # Computed in SQL against the server clock plus a tolerance (see quality/run.py).
        E.ExpectColumnValuesToBeInSet(column="ts_in_future", value_set=[False],
                                      description="no log is time-stamped in the future (beyond the tolerance)"),
        E.ExpectColumnValuesToNotBeNull(column="service", description="every log names its service"),
        E.ExpectColumnValuesToBeUnique(column="dedupe_key", description="no log is stored twice"),
    ):
        suite.add_expectation(exp)
    return suite


def findings_suite(gx):
    """A champion prediction must agree with the recorded level and anomaly flag."""
    E = gx.expectations
    suite = gx.ExpectationSuite(name=FINDINGS_SUITE)
    suite.add_expectation(E.ExpectColumnValuesToBeNull(
        column="level_issue", description="the recorded level agrees with its call site's learned level"))
    suite.add_expectation(E.ExpectColumnValuesToBeNull(
        column="anomaly_issue", description="the recorded anomaly flag agrees with its template's history and episode"))
    return suite


def coverage_suite(gx, min_coverage: float, max_unscored_hours: float):
    """After a scoring run, (almost) every log that had arrived is scored, and none waits long."""
    E = gx.expectations
    suite = gx.ExpectationSuite(name=COVERAGE_SUITE)
    suite.add_expectation(E.ExpectColumnValuesToBeBetween(
        column="coverage", min_value=min_coverage, max_value=1.0,
        description=f"at least {min_coverage:.0%} of each service's logs are scored by the champion"))
    suite.add_expectation(E.ExpectColumnValuesToBeBetween(
        column="oldest_unscored_age_s", min_value=0, max_value=max_unscored_hours * 3600,
        description=f"no scorable log has waited more than {max_unscored_hours:g} hours to be scored"))
    return suite


def drift_suite(gx, max_unseen: float, max_psi: float, max_flag_change: float):
    """The logs a scoring run scored look like the history its model was trained on."""
    E = gx.expectations
    suite = gx.ExpectationSuite(name=DRIFT_SUITE)
    suite.add_expectation(E.ExpectColumnValuesToBeInSet(
        column="new_service", value_set=[False], description="every service was in the model's history"))
    suite.add_expectation(E.ExpectColumnValuesToBeBetween(
        column="unseen_template_share", min_value=0.0, max_value=max_unseen,
        description=f"at most {max_unseen:.0%} of a service's lines come from templates the history never had"))
    for column, what in (("level_psi", "level mix is"), ("length_psi", "message lengths are"),
                         ("template_level_psi", "templates' level mixes are")):
        suite.add_expectation(E.ExpectColumnValuesToBeBetween(
            column=column, min_value=0.0, max_value=max_psi,
            description=f"a service's {what} stable (PSI at most {max_psi:g})"))
    suite.add_expectation(E.ExpectColumnValuesToBeBetween(
        column="flag_rate_change", min_value=0.0, max_value=max_flag_change,
        description=f"a service's anomaly-flag rate moved at most {max_flag_change:.0%} from the history's"))
    return suite
