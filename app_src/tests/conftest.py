import os
import re

import pytest

os.environ["FLASKY_ENV_FILE"] = ""  # never read a developer's .env during tests

from flasky import create_app, db, mail  # noqa: E402


@pytest.fixture
def app(tmp_path):
    # A file database: migrations, the app and `flask deploy` use separate connections.
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'test.sqlite'}",
                     FLASKY_ADMIN="admin@example.com", FLASKY_RELEASE="20261125T100000Z-test",
                     SERVER_NAME="flasky.test")
    # No app context is held here: each request and CLI call gets its own, as in production
    # (a context held across requests would share `g`, and with it the logged-in user).
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    """An app context for tests that use the models directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def deployed(app, runner):
    result = runner.invoke(args=["deploy"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def client(deployed):
    return deployed.test_client()


@pytest.fixture
def outbox(app):
    with mail.record_messages() as messages:
        yield messages


def link_in(text, path_prefix):
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s\"<]+)", text)
    assert match, f"no link to {path_prefix} in {text!r}"
    return match.group(1)
