-- Confirmed label corrections training will read (a new one makes a new model version).
SELECT count(*) FROM logintel.v_label_corrections
