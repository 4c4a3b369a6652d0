"""Flasky: the reference social blogging application deployed by flasky.deploy.

The environment file is loaded before anything reads the configuration, so that values in
``.env`` (SECRET_KEY, DATABASE_URL, MAIL_*, FLASKY_ADMIN, ...) reach the config classes.
Values already in the process environment win over the file.
"""

import os

from dotenv import load_dotenv

# `.env` next to the app: the release directory gunicorn and `flask` run in (the deploy
# role links the shared .env there). FLASKY_ENV_FILE names another file; "" disables it.
_env_file = os.environ.get("FLASKY_ENV_FILE", os.path.join(os.getcwd(), ".env"))
if _env_file and os.path.isfile(_env_file):
    load_dotenv(_env_file, override=False)

from flask import Flask, redirect, request  # noqa: E402
from flask_limiter import Limiter  # noqa: E402
from flask_limiter.util import get_remote_address  # noqa: E402
from flask_login import LoginManager  # noqa: E402
from flask_mail import Mail  # noqa: E402
from flask_migrate import Migrate  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402
from flask_wtf.csrf import CSRFProtect  # noqa: E402
from werkzeug.middleware.proxy_fix import ProxyFix  # noqa: E402

from .config import config_for  # noqa: E402

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

db = SQLAlchemy()
mail = Mail()
migrate = Migrate(directory=MIGRATIONS_DIR)
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
login_manager.login_view = "auth.login"

# Endpoints that answer plain http (health checks from the proxy or a deploy gate).
OPS_ENDPOINTS = frozenset({"ops.healthz", "ops.version"})


def create_app(config_name=None, **overrides):
    """Application factory. ``config_name`` defaults to $FLASK_CONFIG, then "default"."""
    config_name = config_name or os.environ.get("FLASK_CONFIG") or "default"
    cfg = config_for(config_name)
    app = Flask(__name__)
    app.config.from_object(cfg)
    app.config.update(overrides)
    cfg.init_app(app)

    db.init_app(app)
    mail.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    # The client's address and scheme from the proxy in front (nginx sets both itself); the host
    # is never taken from a header: the request's own Host, checked against TRUSTED_HOSTS.
    hops = int(app.config.get("FLASKY_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    if app.config.get("SSL_REDIRECT"):
        @app.before_request
        def _redirect_to_https():
            if not request.is_secure and request.endpoint not in OPS_ENDPOINTS:
                return redirect(request.url.replace("http://", "https://", 1), code=301)
            return None

    from .auth import auth as auth_blueprint
    from .cli import register_commands
    from .main import main as main_blueprint
    from .ops import ops as ops_blueprint

    app.register_blueprint(main_blueprint)
    app.register_blueprint(auth_blueprint, url_prefix="/auth")
    app.register_blueprint(ops_blueprint)
    csrf.exempt(ops_blueprint)
    register_commands(app)
    return app
