-- One champion decision and its figures (in the promotion's transaction).
INSERT INTO logintel.model_decisions (action, version, previous, champion_after, reason, figures, decided_by)
VALUES (%(action)s, %(version)s, %(previous)s, %(champion_after)s, %(reason)s, %(figures)s, %(decided_by)s)
