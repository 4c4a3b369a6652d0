"""Operations endpoints for load balancers, deploy health gates and humans."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import db
from .dbstate import current_revisions, head_revisions, schema_state

ops = Blueprint("ops", __name__)

NO_STORE = {"Cache-Control": "no-store"}


def app_version():
    try:
        return dist_version("flasky")
    except PackageNotFoundError:
        return "unknown"


@ops.route("/healthz")
def healthz():
    """200 when the database answers and its schema is at this release's head, or ahead of it
    (a newer release migrated it: expand/contract migrations keep older code working, which
    rolling upgrades and rollbacks rely on). 503 when unreachable or behind (migrations pending)."""
    body = {"status": "ok", "release": current_app.config["FLASKY_RELEASE"], "version": app_version()}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = current_revisions(conn)
    except SQLAlchemyError as exc:
        current_app.logger.warning("healthz: database unreachable: %s", exc.__class__.__name__)
        body.update(status="error", database="unreachable", error=exc.__class__.__name__)
        return jsonify(body), 503, NO_STORE
    heads = head_revisions()
    body["database"] = "ok"
    state = schema_state(current)
    body["migrations"] = {"current": sorted(current), "head": sorted(heads), "state": state}
    if state not in ("head", "ahead"):
        body.update(status="error", database="migrations not at head")
        return jsonify(body), 503, NO_STORE
    return jsonify(body), 200, NO_STORE


@ops.route("/version")
def version():
    return jsonify(app="flasky", version=app_version(),
                   release=current_app.config["FLASKY_RELEASE"]), 200, NO_STORE
