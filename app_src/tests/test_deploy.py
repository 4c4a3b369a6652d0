"""`flask deploy`: idempotent, honest about changes; /healthz follows the schema state."""

import json

from flasky import db
from flasky.cli import EXIT_PENDING
from flasky.models import Role, User


def test_healthz_503_before_deploy_and_200_after(app, runner):
    client = app.test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["status"] == "error"
    assert resp.json["release"] == "20261125T100000Z-test"

    assert runner.invoke(args=["deploy"]).exit_code == 0

    resp = client.get("/healthz")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "ok"
    assert resp.json["release"] == "20261125T100000Z-test"
    assert resp.json["migrations"]["current"] == resp.json["migrations"]["head"] == ["0005"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_deploy_twice_second_run_reports_no_change(app, runner):
    first = runner.invoke(args=["deploy"])
    assert first.exit_code == 0, first.output
    assert "migrations applied: 0001, 0002, 0003, 0004, 0005" in first.output
    assert first.output.strip().splitlines()[-1] == "changed=true"

    second = runner.invoke(args=["deploy"])
    assert second.exit_code == 0, second.output
    assert second.output.strip().splitlines()[-1] == "changed=false"
    assert "already at head 0005" in second.output


def test_deploy_json_is_machine_readable(app, runner):
    first = json.loads(runner.invoke(args=["deploy", "--json"]).output)
    assert first["changed"] is True
    assert first["migrations"]["applied"] == ["0001", "0002", "0003", "0004", "0005"]
    assert first["roles"] == ["Administrator", "Moderator", "User"]
    second = json.loads(runner.invoke(args=["deploy", "--json"]).output)
    assert second == {"changed": False, "migrations": {"applied": [], "from": ["0005"], "to": ["0005"]},
                      "roles": [], "self_follows": 0}


def test_check_reports_pending_without_doing_it(app, runner):
    check = runner.invoke(args=["deploy", "--check", "--json"])
    assert check.exit_code == EXIT_PENDING
    status = json.loads(check.output)
    assert status["pending"] is True and status["migrations"][-1] == "0005"
    # nothing was done
    assert app.test_client().get("/healthz").status_code == 503

    runner.invoke(args=["deploy"])
    check = runner.invoke(args=["deploy", "--check"])
    assert check.exit_code == 0, check.output
    assert "pending=false" in check.output


def test_deploy_repairs_roles_and_self_follows(deployed, runner, ctx):
    role = Role.query.filter_by(name="Moderator").first()
    role.permissions = 0
    u = User(email="x@example.com", username="x", password="password123")
    db.session.add(u)
    db.session.commit()
    u.unfollow(u)
    db.session.commit()
    assert runner.invoke(args=["deploy", "--check"]).exit_code == EXIT_PENDING
    result = json.loads(runner.invoke(args=["deploy", "--json"]).output)
    assert result["changed"] is True
    assert result["roles"] == ["Moderator"] and result["self_follows"] == 1
    assert runner.invoke(args=["deploy", "--check"]).exit_code == 0


def test_partial_schema_is_migrated_from_where_it_stands(app, runner, ctx):
    from flask_migrate import upgrade
    upgrade(directory=app.extensions["migrate"].directory, revision="0002")
    result = json.loads(runner.invoke(args=["deploy", "--json"]).output)
    assert result["migrations"]["from"] == ["0002"]
    assert result["migrations"]["applied"] == ["0003", "0004", "0005"]


def test_models_match_the_migrations(deployed, ctx):
    """The schema the migrations build is the one the models describe (no forgotten revision)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_version_endpoint(client):
    resp = client.get("/version")
    assert resp.status_code == 200
    assert resp.json["app"] == "flasky"
    assert resp.json["release"] == "20261125T100000Z-test"


def test_seed_creates_and_tops_up(deployed, runner, ctx):
    from flasky.models import Post
    out = runner.invoke(args=["seed", "--users", "20", "--posts", "200"])
    assert out.exit_code == 0, out.output
    assert User.query.count() == 20 and Post.query.count() == 200
    runner.invoke(args=["seed", "--users", "20", "--posts", "250"])
    assert User.query.count() == 20 and Post.query.count() == 250
    # seeded users follow themselves like everybody else
    assert runner.invoke(args=["deploy", "--check"]).exit_code == 0


def test_healthz_200_when_a_newer_release_migrated_the_database(app, runner):
    """Expand/contract: during a rolling upgrade or after a rollback the database is at a
    revision this release does not know; the release keeps serving and says so."""
    assert runner.invoke(args=["deploy"]).exit_code == 0
    with app.app_context():
        db.session.execute(db.text("UPDATE alembic_version SET version_num = '0099_newer'"))
        db.session.commit()
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200, resp.json
    assert resp.json["migrations"] == {"current": ["0099_newer"], "head": ["0005"], "state": "ahead"}
    # an older release never tries to downgrade: deploy has nothing to do
    again = runner.invoke(args=["deploy"])
    assert again.exit_code == 0, again.output
    assert again.output.strip().splitlines()[-1] == "changed=false"


def test_healthz_503_when_migrations_are_pending(app, runner):
    assert runner.invoke(args=["deploy"]).exit_code == 0
    with app.app_context():
        db.session.execute(db.text("UPDATE alembic_version SET version_num = '0004'"))
        db.session.commit()
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json["migrations"]["state"] == "behind"
