-- Does a group with this id have findings (the id a person copied from the report or the CLI)?
SELECT count(*) FROM logintel.dq_findings WHERE group_id = %(group_id)s
