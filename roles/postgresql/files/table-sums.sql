-- Row count and checksum of every table of the current database, one line per table:
--   schema.table|rows|md5 of the rows' md5s in order
-- Run by the backup script in the dump's own snapshot (written next to the dump as .sums) and
-- by the restore drill on the restored copy: equal lines mean the copy holds exactly the data
-- the dump was taken from. psql's \gexec runs each generated query.
SELECT format(
  'SELECT %L || ''|'' || count(*) || ''|'' || coalesce(md5(string_agg(md5(t::text), '''' ORDER BY md5(t::text))), '''') FROM %I.%I AS t',
  n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname, c.relname
\gexec
