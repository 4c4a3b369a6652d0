-- Run first in the restore's single transaction (tasks/restore.yml): refuse a superuser
-- session, say who restores, and drop everything the owner owns in this database; the dump
-- that follows recreates its objects, so nothing created after the dump survives.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'refusing to restore as the superuser %', current_user;
  END IF;
END
$$;
SELECT 'restored as ' || current_user;
DROP OWNED BY CURRENT_USER;
