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


def unknown_revisions(current):
    """Revisions the database is at that this release does not ship: a newer release migrated
    it (expand/contract: this release must keep working on that schema)."""
    scripts = script_directory()
    unknown = set()
    for rev in current:
        try:
            scripts.get_revision(rev)
        except Exception:  # alembic raises ResolutionError / CommandError subclasses
            unknown.add(rev)
    return unknown


def schema_state(current):
    """"head", "ahead" (migrated by a newer release), "behind" (this release has pending
    migrations) or "empty" (never migrated)."""
    if not current:
        return "empty"
    if current == head_revisions():
        return "head"
    if unknown_revisions(current):
        return "ahead"
    return "behind"


def pending_revisions():
    """Revisions between the database's current state and head, oldest first. None when the
    database is ahead of this release: an older release never downgrades the schema."""
    scripts = script_directory()
    current = current_revisions()
    if current and unknown_revisions(current):
        return []
    pending = []
    for head in head_revisions():
        for rev in scripts.iterate_revisions(head, tuple(current) or "base"):
            if rev.revision not in current:
                pending.append(rev.revision)
    return list(reversed(list(dict.fromkeys(pending))))
