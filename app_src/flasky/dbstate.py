"""Where the database stands against the migration scripts shipped with this release."""

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from . import MIGRATIONS_DIR, db


def script_directory():
    ext = current_app.extensions
    if "flasky_scripts" not in ext:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", MIGRATIONS_DIR)
        ext["flasky_scripts"] = ScriptDirectory.from_config(cfg)
    return ext["flasky_scripts"]


def head_revisions():
    """The head revision(s) this release's code expects."""
    return set(script_directory().get_heads())


def current_revisions(connection=None):
    """The revision(s) the database is at (empty set: never migrated)."""
    if connection is None:
        with db.engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    return set(MigrationContext.configure(connection).get_current_heads())


def pending_revisions():
    """Revisions between the database's current state and head, oldest first."""
    scripts = script_directory()
    current = current_revisions()
    pending = []
    for head in head_revisions():
        for rev in scripts.iterate_revisions(head, tuple(current) or "base"):
            if rev.revision not in current:
                pending.append(rev.revision)
    return list(reversed(list(dict.fromkeys(pending))))
