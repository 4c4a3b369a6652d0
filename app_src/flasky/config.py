"""Configurations, chosen by FLASK_CONFIG: development, testing, production, unix.

Each configuration reads the environment when it is instantiated (in ``create_app``), so the
values of ``.env`` and of the process environment at start-up are the ones used.
"""

import logging
import os
import sys
from logging.handlers import SMTPHandler, SysLogHandler


class ConfigError(RuntimeError):
    """The environment does not allow the application to start."""


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {value!r}") from None


def env_list(name):
    """A comma-separated setting, as a list ([] when unset)."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def database_url(default=None):
    """DATABASE_URL with the drivers this app ships: psycopg 3 and PyMySQL."""
    url = os.environ.get("DATABASE_URL") or default
    if url is None:
        return None
    for plain, explicit in (("postgres://", "postgresql+psycopg://"),
                            ("postgresql://", "postgresql+psycopg://"),
                            ("mysql://", "mysql+pymysql://"),
                            ("mariadb://", "mysql+pymysql://")):
        if url.startswith(plain):
            return explicit + url[len(plain):]
    return url


def install_handler(app, handler, kind):
    """Add a log handler, replacing one of the same kind from an earlier create_app()."""
    for old in [h for h in app.logger.handlers if getattr(h, "flasky_kind", None) == kind]:
        app.logger.removeHandler(old)
        old.close()
    handler.flasky_kind = kind
    app.logger.addHandler(handler)


class Config:
    def __init__(self):
        self.SECRET_KEY = os.environ.get("SECRET_KEY")
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
        self.MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.FLASKY_MAIL_SUBJECT_PREFIX = os.environ.get("FLASKY_MAIL_SUBJECT_PREFIX", "[Flasky]")
        self.FLASKY_MAIL_SENDER = os.environ.get("FLASKY_MAIL_SENDER", "Flasky Admin <flasky@localhost>")
        self.MAIL_DEFAULT_SENDER = self.FLASKY_MAIL_SENDER
        self.FLASKY_ADMIN = os.environ.get("FLASKY_ADMIN") or None
        self.SSL_REDIRECT = env_bool("SSL_REDIRECT")
        self.FLASKY_PROXY_HOPS = env_int("FLASKY_PROXY_HOPS", 0)
        # Rate limits of the endpoints that send mail or check a password (Flask-Limiter), per
        # client address and per account; RATELIMIT_STORAGE_URI shares the counters between
        # processes (memory:// counts per gunicorn worker).
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.FLASKY_AUTH_LIMIT = os.environ.get("FLASKY_AUTH_LIMIT", "10 per minute;60 per hour")
        self.FLASKY_ACCOUNT_LIMIT = os.environ.get("FLASKY_ACCOUNT_LIMIT", "5 per minute;20 per hour")
        self.FLASKY_MAIL_LIMIT = os.environ.get("FLASKY_MAIL_LIMIT", "3 per hour")
        self.FLASKY_RELEASE = os.environ.get("FLASKY_RELEASE", "unknown")
        self.FLASKY_POSTS_PER_PAGE = env_int("FLASKY_POSTS_PER_PAGE", 20)
        self.FLASKY_FOLLOWERS_PER_PAGE = env_int("FLASKY_FOLLOWERS_PER_PAGE", 50)
        self.FLASKY_COMMENTS_PER_PAGE = env_int("FLASKY_COMMENTS_PER_PAGE", 30)
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False
        # pre_ping survives a database restart; recycle stays under MariaDB's wait_timeout.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 280}
        self.SQLALCHEMY_DATABASE_URI = database_url("sqlite:///" + os.path.join(os.getcwd(), "data.sqlite"))

    def init_app(self, app):
        pass


class DevelopmentConfig(Config):
    def __init__(self):
        super().__init__()
        self.DEBUG = True
        self.SECRET_KEY = self.SECRET_KEY or "development-only-not-secret"
        self.SQLALCHEMY_DATABASE_URI = database_url(
            os.environ.get("DEV_DATABASE_URL") or "sqlite:///" + os.path.join(os.getcwd(), "data-dev.sqlite"))


class TestingConfig(Config):
    def __init__(self):
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = self.SECRET_KEY or "testing-only-not-secret"
        self.WTF_CSRF_ENABLED = False
        self.MAIL_SUPPRESS_SEND = True
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", False)
        self.SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")


class ProductionConfig(Config):
    def __init__(self):
        super().__init__()
        # Behind one reverse proxy (nginx) by default: trust one hop of X-Forwarded-*.
        self.FLASKY_PROXY_HOPS = env_int("FLASKY_PROXY_HOPS", 1)
        # The site's name: absolute URLs (the links in mails) are built from it, never from the
        # request's Host; requests for any other host are refused (400).
        self.SERVER_NAME = os.environ.get("SERVER_NAME") or None
        self.TRUSTED_HOSTS = env_list("TRUSTED_HOSTS") or (
            [self.SERVER_NAME.rsplit(":", 1)[0]] if self.SERVER_NAME else None)
        self.PREFERRED_URL_SCHEME = "https"
        self.SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.SESSION_COOKIE_SAMESITE = "Lax"

    def init_app(self, app):
        if not self.SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is not set: the production configuration refuses to start without it. "
                "Set SECRET_KEY in the environment or in the .env file next to the app.")
        app.logger.setLevel(os.environ.get("FLASKY_LOG_LEVEL", "INFO").upper())
        # Errors are mailed to the administrator.
        if self.FLASKY_ADMIN:
            credentials = None
            secure = None
            if self.MAIL_USERNAME is not None:
                credentials = (self.MAIL_USERNAME, self.MAIL_PASSWORD)
                if self.MAIL_USE_TLS:
                    secure = ()
            mail_handler = SMTPHandler(
                mailhost=(self.MAIL_SERVER, self.MAIL_PORT),
                fromaddr=self.FLASKY_MAIL_SENDER,
                toaddrs=[self.FLASKY_ADMIN],
                subject=self.FLASKY_MAIL_SUBJECT_PREFIX + " Application Error",
                credentials=credentials,
                secure=secure,
                timeout=10.0)
            mail_handler.setLevel(logging.ERROR)
            install_handler(app, mail_handler, "mail")


class UnixConfig(ProductionConfig):
    """Production on a Unix server: logs also go to the local syslog daemon."""

    def __init__(self):
        super().__init__()
        self.FLASKY_SYSLOG_TAG = os.environ.get("FLASKY_SYSLOG_TAG", "flasky")
        self.FLASKY_SYSLOG_ADDRESS = os.environ.get("FLASKY_SYSLOG_ADDRESS", "/dev/log")
        self.FLASKY_SYSLOG_LEVEL = os.environ.get("FLASKY_SYSLOG_LEVEL", "INFO").upper()

    def init_app(self, app):
        super().init_app(app)
        # The local socket, not UDP to localhost: a datagram to a port nobody listens on is
        # lost silently, while a missing /dev/log is reported here at start-up.
        try:
            handler = SysLogHandler(address=self.FLASKY_SYSLOG_ADDRESS, facility=SysLogHandler.LOG_USER)
        except OSError as exc:
            print(f"flasky: cannot log to syslog at {self.FLASKY_SYSLOG_ADDRESS}: {exc}", file=sys.stderr)
            return
        handler.setLevel(self.FLASKY_SYSLOG_LEVEL)
        # "tag[pid]: " is what syslog daemons parse as programname, so rsyslog can filter on it.
        handler.setFormatter(logging.Formatter(
            self.FLASKY_SYSLOG_TAG + "[%(process)d]: %(levelname)s %(name)s: %(message)s"))
        install_handler(app, handler, "syslog")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
    "unix": UnixConfig,
    "default": DevelopmentConfig,
}


def config_for(name):
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"FLASK_CONFIG={name!r} is not one of {', '.join(sorted(CONFIGS))}") from None
