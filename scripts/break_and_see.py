"""Break each promise of the README's Guarantees table on purpose, run the test that row names,
and check that it fails; then restore the code. Prints one line per promise.

    python scripts/break_and_see.py [--only NAME] [--checkout DIR]

Run it in a throwaway clone (it edits files and restores them with `git checkout`), after
`make db` (the Airflow tests need its metadata DB); it sources scripts/env.sh itself, so the embedded PostgreSQL (or
LOGINTEL_DATABASE_URL) is used as by `make test`. "caught" means the named test failed with the
break in place and passed again without it.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Break:
    name: str  # the promise, short
    file: str
    edits: list[tuple[str, str]]  # (exact text, replacement)
    tests: list[str]


BREAKS = [
    Break("read = loaded + duplicates + quarantined (a bad record dropped silently)", "include/logintel/ingest.py",
          [('                    staged.append(_bad_row(rec, source))\n', '                    pass\n'),
           ('    if received != read:', '    if False:')],
          ["tests/integration/test_hostile_ingest.py::test_hostile_corpus_is_fully_accounted_for"]),
    Break("nothing is loaded twice (the file check removed)", "include/logintel/ingest.py",
          [("            if sha in seen_in_batch or _already_loaded(conn, sha):", "            if sha in seen_in_batch:")],
          ["tests/integration/test_ingest.py::test_same_file_twice_and_appended_file_load_nothing_twice"]),
    Break("a failing batch writes nothing (autocommit instead of one transaction)", "include/logintel/ingest.py",
          [('        with db.transaction(url) as conn:\n            conn.execute(db.sql("ingest/lock_batch")',
            '        with db.connect(url, autocommit=True) as conn:\n            conn.execute(db.sql("ingest/lock_batch")')],
          ["tests/integration/test_hostile_ingest.py::test_a_batch_that_fails_midway_writes_nothing"]),
    Break("a batch left running by a dead process is marked failed", "include/logintel/ingest.py",
          [("    fail_stale_batches(url)\n    batch_id = _open_batch(url, sources)", "    batch_id = _open_batch(url, sources)")],
          ["tests/integration/test_ingest.py::test_a_batch_left_running_by_a_dead_process_is_marked_failed_by_the_next_ingest"]),
    Break("quarantine keeps every byte (cut at the record limit again)", "include/logintel/sources/reader.py",
          [("    return max(limit, get_settings().quarantine_max_bytes)", "    return limit")],
          ["tests/integration/test_ingest.py::test_quarantine_keeps_every_byte_and_replay_loads_what_now_parses"]),
    Break("a stale scoring run is marked failed", "include/logintel/sql/scoring/fail_stale_runs.sql",
          [("WHERE r.status = 'running'", "WHERE false AND r.status = 'running'")],
          ["tests/integration/test_pipeline_faults.py::test_a_scoring_run_left_running_by_a_dead_dag_run_is_marked_failed_by_the_next"]),
    Break("hostile messages are shown harmlessly (autoescape off)", "include/logintel/display.py",
          [("autoescape=True,", "autoescape=False,")],
          ["tests/integration/test_report.py::test_hostile_message_is_escaped_and_control_characters_are_visible",
           "tests/integration/test_plugin.py::test_findings_page_escapes_messages"]),
    Break("a tampered artifact is refused (checksum not checked)", "include/logintel/ml/bundle.py",
          [("    if sha256 and actual.lower() != str(sha256).lower():", "    if False:")],
          ["tests/integration/test_pipeline_faults.py::test_missing_or_tampered_artifact_is_a_clear_error_and_writes_nothing"]),
    Break("two scoring runs at once provably overlap (chunk lock removed)", "include/logintel/scoring.py",
          [('                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_chunk_lock(version, start // chunk),))',
            "                pass")],
          ["tests/integration/test_pipeline_faults.py::test_two_scoring_runs_at_once_make_no_duplicates"]),
    Break("a dismissed group stays dismissed in later runs", "include/logintel/sql/findings/insert.sql",
          [("       coalesce(d.decision, 'open'),", "       'open',")],
          ["tests/integration/test_triage.py::test_a_dismissed_group_stays_dismissed_in_later_runs"]),
    Break("triage needs a role that may edit", "plugins/logintel_plugin.py",
          [('        return bool(user) and get_auth_manager().is_authorized_dag(method="PUT", user=user)',
            "        return True")],
          ["tests/integration/test_plugin.py::test_triage_needs_a_role_that_may_edit_and_a_same_site_json_request"]),
    Break("the triage form needs its CSRF token", "plugins/logintel_plugin.py",
          [("        if not hmac.compare_digest(csrf, csrf_token(request)):", "        if False:")],
          ["tests/integration/test_plugin.py::test_the_html_triage_form_needs_its_csrf_token_and_an_editor"]),
    Break("the plugin refuses anonymous requests", "plugins/logintel_plugin.py",
          [("        if not auth_enabled():\n            return None\n        from airflow.api_fastapi.core_api import security",
            "        return None\n        from airflow.api_fastapi.core_api import security")],
          ["tests/integration/test_plugin.py::test_auth_is_required_by_default"]),
    Break("a group is alerted once (not marked as sent)", "include/logintel/alerts.py",
          [('            conn.execute(db.sql("alerts/mark_alerted"), {"alert_id": result.alert_id, "group_ids": result.group_ids})',
            "            pass")],
          ["tests/integration/test_alerts.py::test_a_digest_by_email_once_per_group"]),
    Break("two alert runs at once send a group once (lock removed)", "include/logintel/alerts.py",
          [('        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ALERT_LOCK,))', "        pass")],
          ["tests/integration/test_alerts.py::test_two_runs_at_once_send_each_group_once"]),
    Break("one Data Docs site per database", "include/logintel/quality/context.py",
          [("    name = f\"{parts.hostname or 'localhost'}-{parts.port or 5432}-{parts.path.lstrip('/') or 'postgres'}\"",
            '    name = "shared"')],
          ["tests/integration/test_quality.py::test_each_database_has_its_own_data_docs_site"]),
    Break("two people triaging at once leave one whole decision (no transaction)", "include/logintel/triage.py",
          [("    with db.transaction(url) as conn:", "    with db.connect(url, autocommit=True) as conn:")],
          ["tests/integration/test_triage.py::test_two_people_triaging_one_group_at_once_leave_one_whole_decision",
           "tests/integration/test_triage.py::test_a_decision_is_all_or_nothing"]),
    Break("credentials never reach reports or output (no masking)", "include/logintel/connection_url.py",
          [('    return re.sub(r"(://[^:/@]+):[^@]*@", r"\\1:***@", url)', "    return url")],
          ["tests/integration/test_security.py", "tests/integration/test_report.py::test_report_never_shows_the_database_password"]),
    Break("an expected CLI error is one line with its exit code", "include/logintel/cli.py",
          [('    """The documented exit code of an expected error; None for a bug (shown with its traceback)."""\n',
            '    """The documented exit code of an expected error; None for a bug (shown with its traceback)."""\n'
            "    return None\n")],
          ["tests/integration/test_cli_errors.py"]),
    Break("a bad setting is an error naming the variable", "include/logintel/env_values.py",
          [('        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None', "        return 0")],
          ["tests/unit/test_settings.py"]),
    Break("a scoring run keeps the model it started with", "include/logintel/sql/scoring/start_run.sql",
          [("    ON CONFLICT (run_key) DO NOTHING",
            "    ON CONFLICT (run_key) DO UPDATE SET model_version = EXCLUDED.model_version")],
          ["tests/integration/test_registry.py::test_a_run_keeps_its_model_when_another_is_promoted"]),
    Break("no asset event when nothing is new (publish never skips)", "include/logintel/airflow/tasks.py",
          [('    skip_unless_changed(found["new_findings"], "no new findings")\n', "")],
          ["tests/dags/test_dag_integrity.py::test_the_publish_tasks_emit_an_event_only_for_a_change"]),
    Break("detection on the real path: exact findings on a fixed case (mixed templates never judged)",
          "include/logintel/verdicts.py",
          [("            if n - 1 < min_support or wrong < consistency:",
            "            if n - 1 < min_support or wrong < consistency or True:")],
          ["tests/integration/test_detection_fixed_case.py"]),
    Break("hostile input never aborts a batch (a parser raises on bad JSON)", "include/logintel/sources/jsonl.py",
          [("def _json_error(exc: Exception) -> str:\n", "def _json_error(exc: Exception) -> str:\n    raise exc\n")],
          ["tests/unit/test_sources.py", "tests/integration/test_hostile_ingest.py::test_hostile_corpus_is_fully_accounted_for"]),
    Break("a task that cannot resolve its database never falls back to a local one", "include/logintel/airflow/connection.py",
          [("    except Exception as exc:  # whatever the reason, say it; never fall back to another database\n        raise",
            "    except Exception as exc:  # whatever the reason, say it; never fall back to another database\n"
            "        return settings.database_url or 'postgresql://127.0.0.1:54329/logintel'\n        raise")],
          ["tests/unit/test_settings.py::test_a_failing_connection_lookup_never_falls_back_to_the_embedded_server",
           "tests/unit/test_settings.py::test_task_database_url_without_any_configuration_is_a_clear_error"]),
    Break("libpq extras reach libpq (sslmode dropped)", "include/logintel/connection_url.py",
          [("    params = {k: _extra_value(v) for k, v in extra.items() if k in LIBPQ_PARAMETERS and v is not None}",
            "    params = {k: _extra_value(v) for k, v in extra.items() if k in LIBPQ_PARAMETERS and v is not None "
            "and k != 'sslmode'}")],
          ["tests/integration/test_connection_url.py"]),
    Break("a model artifact of another format is a clear error", "include/logintel/ml/bundle.py",
          [("    if fmt != BUNDLE_FORMAT:", "    if False:")],
          ["tests/unit/test_model.py::test_load_rejects_another_format"]),
    Break("the new-logs figures count the later logs only", "include/logintel/sql/evaluate/detection_scores.sql",
          [("CASE WHEN %(new_only)s THEN max_log_id ELSE 0 END", "CASE WHEN %(new_only)s THEN 0 ELSE 0 END")],
          ["tests/integration/test_new_logs_protocol.py"]),
    Break("an unflagged line inside a flagged episode is a missed anomaly", "include/logintel/episodes.py",
          [("MISSED_THRESHOLD = 0.5 ", "MISSED_THRESHOLD = 1.1 ")],
          ["tests/unit/test_episodes.py"]),
    Break("an episode's lost lines are shared out by its kept flags' levels", "include/logintel/unkept_templates.py",
          [("* cand[\"excess\"].to_numpy() * (f_level + LEVEL_PSEUDO)",
            "* cand[\"excess\"].to_numpy() * (cand[\"F\"].to_numpy() / len(LEVELS) + LEVEL_PSEUDO)")],
          ["tests/unit/test_episodes.py"]),
    Break("a template with a kept flag anywhere in the span is no candidate", "include/logintel/unkept_templates.py",
          [("    cand = per[(per[\"f_span\"] == 0) & (per[\"u\"] > 0)]", "    cand = per[(per[\"f\"] == 0) & (per[\"u\"] > 0)]")],
          ["tests/unit/test_episodes.py"]),
    Break("only the flags beyond a service's usual ones make an episode", "include/logintel/unkept_templates.py",
          [("    flags[\"excess\"] = np.clip(1.0 - usual / flags[\"F\"].to_numpy(), 0.0, 1.0)",
            "    flags[\"excess\"] = 1.0")],
          ["tests/unit/test_episodes.py::test_a_source_that_flags_all_the_time_has_spans_of_flags_but_no_episode"]),
    Break("a template common in the new logs is no evidence", "include/logintel/unkept_templates.py",
          [("        lam = np.maximum(lam, np.clip(outside, 0, None) / np.maximum(total, 1.0) * traffic)",
            "        lam = lam + 0 * traffic")],
          ["tests/unit/test_episodes.py::test_a_template_new_since_the_history_but_common_in_the_new_logs_is_no_evidence"]),
    Break("a span's background follows its service's own traffic", "include/logintel/episodes.py",
          [("    if service_rates is not None:\n        # each service's own traffic", "    if False:\n        # each service's own traffic")],
          ["tests/unit/test_episodes.py::test_a_span_background_follows_its_services_own_traffic"]),
    Break("the window stats are split by level", "include/logintel/sql/findings/anomaly_window_stats.sql",
          [("       coalesce(l.level, '') AS level", "       min(coalesce(l.level, '')) AS level"),
           ("GROUP BY 1, 2, 3, 4, 5, 9", "GROUP BY 1, 2, 3, 4, 5")],
          ["tests/integration/test_sql_rules.py::test_the_window_stats_are_split_by_the_lines_level"]),
    Break("a missed anomaly's confidence is the calibrated posterior", "include/logintel/episodes.py",
          [("    return 1.0 / (1.0 + np.exp(-(np.log(q) - np.log1p(-q) + shift)))", "    return q")],
          ["tests/unit/test_episodes.py::test_calibration_shifts_the_log_odds_and_the_cut_applies_after_it"]),
    Break("anomaly findings have their own confidence cut", "include/logintel/findings.py",
          [("    anomaly_cut = min_confidence if min_anomaly_confidence is None else min_anomaly_confidence",
            "    anomaly_cut = min_confidence")],
          ["tests/integration/test_pipeline_faults.py::test_anomaly_findings_have_their_own_confidence_cut"]),
    Break("extract: the watermark advances with the rows it covers", "include/logintel/extract.py",
          [('                    conn.execute(db.sql("extract/advance"),', '                    (lambda *a: None)(db.sql("extract/advance"),')],
          ["tests/integration/test_extract.py::test_extract_reads_new_rows_once_through_a_read_only_role"]),
    Break("a findings run repeated after a GX failure adds no duplicates", "include/logintel/sql/findings/insert.sql",
          [("ON CONFLICT (log_id, kind, model_version) DO NOTHING", "")],
          ["tests/integration/test_pipeline_faults.py::test_gx_failure_after_scoring_keeps_predictions_and_rerun_adds_no_duplicates"]),
    Break("a scoring process killed mid-write: exactly the committed chunks stay (no transaction per chunk)",
          "include/logintel/scoring.py",
          [("            with conn.transaction():\n                conn.execute(\"SELECT pg_advisory_xact_lock(%s)\"",
            "            if True:\n                conn.execute(\"SELECT pg_advisory_xact_lock(%s)\"")],
          ["tests/integration/test_pipeline_faults.py::test_sigkill_mid_write_then_rerun_gives_the_clean_result"]),
    # (`airflow.models.Connection.get_connection_from_secrets` is no break: in a task Airflow 3.3 routes
    # it through the Task SDK. A session query on the metadata DB is the ORM trap.)
    Break("tasks use no Airflow ORM (the connection read with a metadata-DB session)",
          "include/logintel/airflow/connection.py",
          [("        from airflow.sdk import Connection\n\n        conn = Connection.get(CONNECTION_ID)",
            "        from airflow.models.connection import Connection\n        from airflow.utils.session import create_session\n\n"
            "        with create_session() as session:\n"
            "            conn = session.query(Connection).filter(Connection.conn_id == CONNECTION_ID).one_or_none()\n"
            "            conn = conn and Connection(conn_id=conn.conn_id, uri=conn.get_uri())")],
          ["tests/integration/test_scheduler.py"]),
    Break("the embedded database listens on 127.0.0.1 only", "include/logintel/embedded.py",
          [('opts = (f"-h 127.0.0.1 -p {port}', "opts = (f\"-h '*' -p {port}")],
          ["tests/integration/test_embedded_postgres.py::test_listens_on_loopback_only"]),
    Break("a worse challenger is kept out (promoted whatever its figures)", "include/logintel/challenger.py",
          [('    if new["precision"] > old["precision"] + margin:', "    if True:")],
          ["tests/integration/test_champion_challenger.py::test_a_worse_challenger_is_kept_out"]),
    Break("the challenger never trains on its hold-out (trained on every log)", "include/logintel/training.py",
          [("            cut = part.cut\n", "            pass\n")],
          ["tests/integration/test_champion_challenger.py::"
           "test_a_better_challenger_is_promoted_after_both_are_judged_on_the_same_recent_logs"]),
    Break("rollback is one step back (it follows rollbacks too)", "include/logintel/sql/registry/rollback_target.sql",
          [("WHERE d.action IN ('promoted', 'manual')", "WHERE d.action IN ('promoted', 'manual', 'rollback')")],
          ["tests/integration/test_champion_challenger.py::test_rollback_is_one_command_and_one_dag_param"]),
    Break("a partition is dropped only when its archive matches (the check skipped)", "include/logintel/retention.py",
          [('            _check_manifest(Path(state["manifest_path"]), int(rows_now))\n', "            pass\n")],
          ["tests/integration/test_retention.py::test_a_failed_archive_or_a_mismatch_never_drops_the_partition"]),
    Break("a dropped partition takes what pointed at its logs (predictions left behind)",
          "include/logintel/sql/retention/drop_dependents.sql",
          [("DELETE FROM logintel.ml_predictions p USING logintel.{partition} l WHERE p.log_id = l.id;\n", "")],
          ["tests/integration/test_retention.py::test_an_old_partition_is_archived_dropped_and_loads_back_the_same"]),
    Break("dedupe across partitions (the key table bypassed)", "include/logintel/sql/ingest/claim_keys.sql",
          [("JOIN fresh f USING (dedupe_key)", "LEFT JOIN fresh f USING (dedupe_key)")],
          ["tests/integration/test_retention.py::test_an_unpartitioned_table_with_data_migrates_without_losing_a_row"]),
    Break("a table source's re-read rows are duplicates (the key table bypassed on the staged path)",
          "include/logintel/sql/ingest/merge.sql",
          [("WHERE s.error IS NULL AND s.dedupe_key IN (SELECT dedupe_key FROM fresh)", "WHERE s.error IS NULL")],
          ["tests/integration/test_extract.py::test_a_bytea_message_column_is_decoded_and_bad_bytes_are_quarantined"]),
    Break("the catalog's counts of a dropped partition go with it", "include/logintel/sql/retention/drop_dependents.sql",
          [("DELETE FROM logintel.template_counts c\n", "SELECT FROM logintel.template_counts c\n")],
          ["tests/integration/test_template_catalog.py::test_retention_takes_a_dropped_partitions_counts_and_keeps_the_rest_exact"]),
    Break("a load's catalog counts are recounted (the batch never counted)", "include/logintel/ingest.py",
          [("            template_catalog.recount_batches(conn, [batch_id])\n", "")],
          ["tests/integration/test_template_catalog.py::test_ingest_templates_each_log_and_counts_stay_exact_under_reingest_and_duplicates"]),
    Break("scoring reads the catalog's keys (masks every message again)", "include/logintel/ml/features.py",
          [('    if "template_key" not in df.columns:\n', '    if True:\n')],
          ["tests/integration/test_template_catalog.py::test_scoring_and_training_read_the_catalog_and_never_mask"]),
    Break("extract's reader unescapes COPY text before masking (line breaks left escaped)", "include/logintel/extract.py",
          [('b"n": b"\\n", ', "")],
          ["tests/integration/test_extract.py::test_messages_with_copy_escapes_get_their_template_ids_on_the_server_side_path"]),
    Break("progress bars only on a terminal (drawn in pipes too)", "include/logintel/progress.py",
          [('    return get_settings().progress and bool(getattr(stream, "isatty", lambda: False)())',
            "    return get_settings().progress")],
          ["tests/integration/test_cli_progress.py::test_progress_bars_on_a_terminal_and_silence_in_pipes"]),
    Break("the scoring query's line durations equal durations.py (seconds read as 100 ms)",
          "include/logintel/sql/migrations/023_logs_message_duration.sql",
          [("CASE m[2] WHEN 's' THEN 1000.0", "CASE m[2] WHEN 's' THEN 100.0")],
          ["tests/integration/test_bucket_features_sql.py::test_line_durations_computed_on_the_server_equal_durations_py"]),
    Break("ingest keeps each line's message duration (none stored)", "include/logintel/masking_worker.py",
          [("[message_duration_ms(m) for m in messages]", "[float('nan') for m in messages]")],
          ["tests/integration/test_bucket_features_sql.py::test_ingest_stores_each_lines_duration_and_the_read_takes_it_without_the_regex"]),
    Break("the masking helper answers each message in its order (answers shuffled)", "include/logintel/masking_worker.py",
          [("_encode(keys_and_durations(_decode_strings(payload)))", "_encode(keys_and_durations(_decode_strings(payload)[::-1]))")],
          ["tests/integration/test_ingest.py::test_a_load_of_many_chunks_masks_in_a_helper_process_with_the_same_results"]),
    Break("the scoring read takes the stored duration (the regex run again)", "include/logintel/sql/scoring/logs_selected.sql",
          [("CASE WHEN sel.message_duration_ms IS NULL THEN", "CASE WHEN true THEN")],
          ["tests/integration/test_bucket_features_sql.py::test_ingest_stores_each_lines_duration_and_the_read_takes_it_without_the_regex"]),
    Break("drift from the counts written while scoring equals drift from the predictions (history not split)",
          "include/logintel/run_counts.py",
          [("    history = (frame[\"id\"].to_numpy() <= history_max_id).astype(np.int64)",
            "    history = np.zeros(len(frame), dtype=np.int64)")],
          ["tests/integration/test_drift.py::test_the_counts_written_while_scoring_give_the_drift_the_predictions_give"]),
    Break("a run that upserted another run's chunk is judged from its predictions (never marked uncounted)",
          "include/logintel/run_counts.py",
          [('    conn.execute(db.sql("scoring/mark_uncounted"), {"run_id": int(run_id)})', "    pass")],
          ["tests/integration/test_pipeline_faults.py::test_two_scoring_runs_at_once_make_no_duplicates"]),
    Break("the findings snapshot is the view of every prediction (the unjudged ones taken twice)",
          "include/logintel/sql/findings/snapshot_checks.sql",
          [("WHERE NOT EXISTS (SELECT 1 FROM judged j", "WHERE EXISTS (SELECT 1 FROM judged j")],
          ["tests/integration/test_pipeline_faults.py::test_the_findings_snapshot_is_the_view_of_every_prediction"]),
    Break("the window statistics of hot runs equal counting every log (a run's last bucket cut off)",
          "include/logintel/sql/findings/anomaly_window_stats.sql",
          [("    SELECT min(bucket) AS lo, max(bucket) + make_interval(mins => %(bucket_minutes)s::integer) AS hi",
            "    SELECT min(bucket) AS lo, max(bucket) AS hi")],
          ["tests/integration/test_pipeline_faults.py::test_the_window_statistics_of_hot_runs_equal_counting_every_scored_log"]),
    Break("a bytea message is decoded and bad bytes quarantined (read as ::text)", "include/logintel/extract.py",
          [("            return sql.SQL(\"encode(t.{}, 'hex')\").format(column)\n", "            pass\n")],
          ["tests/integration/test_extract.py::test_a_bytea_message_column_is_decoded_and_bad_bytes_are_quarantined"]),
    Break("drift is measured (the PSI always 0)", "include/logintel/drift.py",
          [("    return float(np.sum((q - p) * np.log(q / p)))", "    return 0.0")],
          ["tests/integration/test_drift.py::test_a_shifted_batch_drifts_and_says_where"]),
    Break("a stalled scoring run is a failed coverage check (the share not checked)",
          "include/logintel/quality/suites.py",
          [('column="coverage", min_value=min_coverage,', 'column="coverage", min_value=0.0,')],
          ["tests/integration/test_coverage.py::test_a_stalled_run_is_a_failed_recorded_validation"]),
    Break("a restart mid-scoring leaves whole chunks (no transaction per chunk)", "include/logintel/scoring.py",
          [("            with conn.transaction():\n                conn.execute(\"SELECT pg_advisory_xact_lock(%s)\"",
            "            if True:\n                conn.execute(\"SELECT pg_advisory_xact_lock(%s)\"")],
          ["tests/integration/test_embedded_postgres.py::test_restart_mid_scoring_fails_the_run_and_the_retry_completes"]),
    Break("every DAG run again changes nothing (the simulator's run key ignored)", "include/logintel/corrupt.py",
          [("        if done[0] or done[1]:\n            return InjectResult(", "        if False:\n            return InjectResult(")],
          ["tests/integration/test_dag_chain.py::test_full_chain_with_airflow_dags_test"]),
    Break("the plugin lets a logged-in user in (it always refuses)", "plugins/logintel_plugin.py",
          [("        return await security.get_user(request, None, credentials)",
            "        raise HTTPException(status_code=401, detail=\"not authenticated\")")],
          ["tests/integration/test_plugin.py::test_a_logged_in_request_succeeds_and_a_forged_token_does_not"]),
    Break("the plugin refuses a forged token (any bearer token let in)", "plugins/logintel_plugin.py",
          [("        return await security.get_user(request, None, credentials)",
            "        if credentials:\n            return None\n        return await security.get_user(request, None, credentials)")],
          ["tests/integration/test_plugin.py::test_a_logged_in_request_succeeds_and_a_forged_token_does_not"]),
    Break("triage in a real browser (the form's CSRF token left out)", "plugins/logintel_ui/group.html.j2",
          [('  <input type="hidden" name="csrf" value="{{ csrf }}">\n', "")],
          ["tests/integration/test_browser.py::test_triage_in_the_airflow_ui_with_a_real_browser"]),
    # The planted URL is split so that this file holds no secret itself.
    Break("the repo holds no secrets (a password in a tracked file)", "docker-compose.yaml",
          [("# Logintel scale-out deployment:", "# db: postgresql://airflow:" + "Pr0d-Pa55w0rd-9@db/airflow\n"
            "# Logintel scale-out deployment:")],
          ["tests/unit/test_no_secrets.py::test_repository_has_no_secrets"]),
    Break("a hang fails its test (no per-test timeout)", "pyproject.toml",
          [("timeout = 900\n", "")],
          ["tests/unit/test_suite_timeout.py::test_every_test_has_a_timeout"]),
    Break("a Celery worker killed mid-partition: the partition is retried on the other (no retries)",
          "include/logintel/airflow/defaults.py",
          [('"retries": 2,', '"retries": 0,')],
          ["tests/integration/test_celery.py::test_log_scoring_on_two_celery_workers_survives_a_killed_worker"]),
    Break("GX validates this findings run's checks (the snapshot no longer emptied first)",
          "include/logintel/sql/findings/snapshot_checks.sql",
          [("TRUNCATE logintel.prediction_checks;\n", "")],
          ["tests/integration/test_pipeline_faults.py::test_rescoring_and_refinding_three_times_changes_nothing"]),
    Break("the lost-flag share comes from the new logs' spans (the history's spans counted again)",
          "include/logintel/episodes.py",
          [("        if per[\"span_id\"].isin(recent).any():", "        if False:")],
          ["tests/unit/test_episodes.py::test_the_share_of_lost_flags_comes_from_the_logs_since_the_history"]),
    Break("predictions are stored as scored (the binary COPY sends float4 in the wrong byte order)",
          "include/logintel/binary_copy.py",
          [('"float4": ">f4"', '"float4": "<f4"')],
          ["tests/integration/test_binary_copy_server.py", "tests/unit/test_binary_copy.py"]),
    Break("findings beyond the ids GX returns are read in SQL (GX's first ids only)", "include/logintel/findings.py",
          [("    if run.complete_ids(column):", "    if True:")],
          ["tests/integration/test_pipeline_faults.py::test_findings_beyond_the_ids_gx_returns_are_read_in_sql_and_are_the_same"]),
    Break("a counted run's `scored` sums its chunks' template counts (the length bins too: twice)",
          "include/logintel/sql/scoring/finish_run.sql",
          [("WHERE c.scoring_run_id = r.id AND c.length_bin IS NULL)", "WHERE c.scoring_run_id = r.id)")],
          ["tests/integration/test_pipeline_faults.py::test_rescoring_and_refinding_three_times_changes_nothing"]),
    Break("a row's window sums stop at its own key (no room between keys' bucket numbers)", "include/logintel/episodes.py",
          [("    width = int(offset.max()) + 2 * WINDOW + 1", "    width = int(offset.max()) + 1")],
          ["tests/unit/test_episodes.py::test_each_rows_window_sums_are_the_sums_over_its_neighbouring_buckets_of_its_own_key"]),
    Break("a row's window takes WINDOW buckets on both sides (one side short)", "include/logintel/episodes.py",
          [("    for d in range(-WINDOW, WINDOW + 1):\n        at = np.minimum", "    for d in range(-WINDOW, WINDOW):\n        at = np.minimum")],
          ["tests/unit/test_episodes.py::test_each_rows_window_sums_are_the_sums_over_its_neighbouring_buckets_of_its_own_key"]),
    Break("the COPY reader keeps every row libpq buffered (long rows dropped)", "include/logintel/db.py",
          [("                parts.append(bytes(data))  #", "                nbytes < 40 and parts.append(bytes(data))  #")],
          ["tests/integration/test_copy_out.py::test_the_bytes_are_psycopgs"]),
    Break("a failed COPY reaches the caller as psycopg's exception (an empty result instead)", "include/logintel/db.py",
          [("            raise _error_of(head, conn)", "            return b\"\"")],
          ["tests/integration/test_copy_out.py::test_an_error_is_psycopgs_exception_and_the_connection_goes_on"]),
    Break("the rates' span starts a day before the rows (half a day instead)", "include/logintel/frames.py",
          [("_HISTORY_US = 86_400_000_000", "_HISTORY_US = 43_200_000_000")],
          ["tests/integration/test_bucket_features_sql.py::test_buckets_count_all_logs_of_the_span"]),
    Break("each row reads its own 5-minute bucket (date_bin's origin shifted by a minute)", "include/logintel/frames.py",
          [("_BUCKET_ORIGIN_US = 946_684_800_000_000", "_BUCKET_ORIGIN_US = 946_684_860_000_000")],
          ["tests/integration/test_bucket_features_sql.py::test_bucket_counts_and_service_rates"]),
    Break("the history statistics training stores are the findings run's (a line at the limit counted slow)",
          "include/logintel/history_stats.py",
          [("    slow = dur[known] > limit_of", "    slow = dur[known] >= limit_of")],
          ["tests/integration/test_history_stats.py"]),
    Break("the duration limit is PostgreSQL's percentile_cont (numpy's lerp instead)",
          "include/logintel/history_stats.py",
          [("first + (row - first_row) * (second - first)", "second - (second - first) * (1 - (row - first_row))")],
          ["tests/integration/test_history_stats.py"]),
    Break("the scoring read hashes the chunk's scored ids (NOT EXISTS, a per-log subplan, again)",
          "include/logintel/sql/scoring/logs_selected.sql",
          [("      AND l.id NOT IN (SELECT p.log_id FROM logintel.ml_predictions p\n"
            "                       WHERE p.model_version = %(model_version)s::text AND p.log_id BETWEEN %(lo)s AND %(hi)s)",
            "      AND (%(model_version)s::text IS NULL OR NOT EXISTS (SELECT 1 FROM logintel.ml_predictions p\n"
            "                       WHERE p.log_id = l.id AND p.model_version = %(model_version)s::text "
            "AND p.log_id BETWEEN %(lo)s AND %(hi)s))")],
          ["tests/integration/test_pipeline_faults.py::test_the_read_hashes_the_chunks_scored_ids_even_when_the_statistics_say_there_are_none"]),
    Break("the coverage snapshot hashes the scored ids at any size (a fixed 256MB work_mem again)",
          "include/logintel/coverage.py",
          [("    return f\"{max(floor_mb, min(need_mb, 64 * 1024))}MB\"", "    return \"64kB\"")],
          ["tests/integration/test_coverage.py::test_the_snapshot_hashes_the_scored_ids_at_any_size"]),
]


def run_tests(checkout: Path, tests: list[str]) -> bool:
    """True when every named test passes."""
    cmd = f"source scripts/env.sh >/dev/null && pytest -q -x -p no:cacheprovider -W ignore {' '.join(tests)}"
    proc = subprocess.run(["bash", "-c", cmd], cwd=checkout, capture_output=True, text=True, timeout=1200)
    return proc.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--only", help="only the promises whose name contains this")
    args = parser.parse_args()
    caught = 0
    chosen = [b for b in BREAKS if not args.only or args.only in b.name]
    for brk in chosen:
        path = args.checkout / brk.file
        original = path.read_text()
        broken = original
        for old, new in brk.edits:
            if old not in broken:
                print(f"NOT APPLIED  {brk.name}: the code changed ({old.strip()[:60]!r} not found)", flush=True)
                break
            broken = broken.replace(old, new, 1)
        else:
            t0 = time.time()
            path.write_text(broken)
            try:
                failed_when_broken = not run_tests(args.checkout, brk.tests)
            finally:
                subprocess.run(["git", "checkout", "--", brk.file], cwd=args.checkout, check=True)
            passes_again = run_tests(args.checkout, brk.tests)
            ok = failed_when_broken and passes_again
            caught += ok
            verdict = "caught" if ok else ("NOT CAUGHT" if not failed_when_broken else "FLAKY (fails unbroken)")
            print(f"{verdict:12} {brk.name}  [{', '.join(brk.tests)}] ({time.time() - t0:.0f} s)", flush=True)
    print(f"{caught} of {len(chosen)} breaks caught by the test their Guarantees row names")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
