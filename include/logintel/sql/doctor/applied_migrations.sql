-- Migrations applied to this database (none when the schema does not exist yet).
SELECT version FROM logintel.schema_migrations
