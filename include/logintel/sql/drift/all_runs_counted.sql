-- Whether every scoring run of a model version counted what it scored (migration 024), so its
-- history's side can be summed from the counts.
SELECT NOT EXISTS (SELECT 1 FROM logintel.scoring_runs WHERE model_version = %(model_version)s AND NOT counted)
