import logging
import socket
from logging.handlers import SMTPHandler, SysLogHandler

import pytest
from flasky import create_app
from flasky.config import ConfigError, database_url


@pytest.fixture
def prod_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "s3cret-for-tests")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite'}")
    monkeypatch.setenv("FLASKY_ADMIN", "ops@example.com")
    monkeypatch.setenv("MAIL_SERVER", "mail.example.com")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USERNAME", "mailer")
    monkeypatch.setenv("MAIL_PASSWORD", "mail-pass")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    return monkeypatch


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app("production")


def test_production_never_uses_a_builtin_key(prod_env):
    app = create_app("production")
    assert app.config["SECRET_KEY"] == "s3cret-for-tests"


def test_unknown_config_name_is_reported():
    with pytest.raises(ConfigError, match="FLASK_CONFIG='nope'"):
        create_app("nope")


def test_config_selected_by_flask_config(prod_env):
    prod_env.setenv("FLASK_CONFIG", "production")
    assert create_app().config["PREFERRED_URL_SCHEME"] == "https"


def test_production_mails_errors_to_admin(prod_env):
    app = create_app("production")
    handlers = [h for h in app.logger.handlers if isinstance(h, SMTPHandler)]
    assert len(handlers) == 1
    h = handlers[0]
    assert h.level == logging.ERROR
    assert h.toaddrs == ["ops@example.com"]
    assert h.subject == "[Flasky] Application Error"
    assert (h.mailhost, h.mailport) == ("mail.example.com", 587)
    assert h.username == "mailer" and h.password == "mail-pass"
    assert h.secure == ()


def test_external_urls_are_https_on_the_server_name_whatever_the_headers(prod_env):
    prod_env.setenv("SERVER_NAME", "blog.example.com")
    app = create_app("production")
    app.add_url_rule("/where", "where", lambda: __import__("flask").url_for("where", _external=True))
    client = app.test_client()
    resp = client.get("/where", base_url="http://blog.example.com",
                      headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example",
                               "X-Forwarded-Port": "8888", "X-Forwarded-For": "203.0.113.9"})
    assert resp.get_data(as_text=True) == "https://blog.example.com/where"


def test_a_forged_host_is_refused(prod_env):
    prod_env.setenv("SERVER_NAME", "blog.example.com")
    prod_env.setenv("TRUSTED_HOSTS", "blog.example.com,www.blog.example.com")
    client = create_app("production").test_client()
    assert client.get("/version", base_url="https://evil.example").status_code == 400
    assert client.get("/version", base_url="https://www.blog.example.com").status_code == 200
    assert client.get("/version", base_url="https://blog.example.com:8443").status_code == 200


def test_trusted_hosts_default_to_the_server_name(prod_env):
    prod_env.setenv("SERVER_NAME", "localhost:8443")
    app = create_app("production")
    assert app.config["TRUSTED_HOSTS"] == ["localhost"]
    assert app.test_client().get("/version", base_url="https://evil.example").status_code == 400


def test_proxy_hops_configurable(prod_env):
    prod_env.setenv("FLASKY_PROXY_HOPS", "0")
    app = create_app("production")
    app.add_url_rule("/where", "where", lambda: __import__("flask").url_for("where", _external=True))
    resp = app.test_client().get("/where", base_url="http://x.test", headers={"X-Forwarded-Proto": "https"})
    assert resp.get_data(as_text=True) == "http://x.test/where"  # forwarded headers not trusted


def test_ssl_redirect_spares_health_endpoint(prod_env):
    prod_env.setenv("SSL_REDIRECT", "true")
    prod_env.setenv("FLASKY_PROXY_HOPS", "0")
    app = create_app("production")
    client = app.test_client()
    resp = client.get("/auth/login", base_url="http://blog.test")
    assert resp.status_code == 301
    assert resp.headers["Location"] == "https://blog.test/auth/login"
    assert client.get("/version", base_url="http://blog.test").status_code == 200


def test_unix_config_logs_to_the_syslog_socket(prod_env, tmp_path):
    # A real datagram socket standing in for /dev/log: the line must arrive with the tag.
    path = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    try:
        prod_env.setenv("FLASKY_SYSLOG_ADDRESS", path)
        prod_env.setenv("FLASKY_SYSLOG_TAG", "flasky-test")
        app = create_app("unix")
        assert any(isinstance(h, SysLogHandler) for h in app.logger.handlers)
        app.logger.warning("disk almost full")
        data = sock.recv(4096).decode()
    finally:
        sock.close()
    assert data.startswith("<12>")  # facility user (1) * 8 + warning (4)
    assert "flasky-test[" in data and "WARNING" in data and "disk almost full" in data


def test_unix_config_defaults_to_dev_log(prod_env):
    from flasky.config import UnixConfig
    assert UnixConfig().FLASKY_SYSLOG_ADDRESS == "/dev/log"


@pytest.mark.parametrize("given,expected", [
    ("postgresql://u:p@db/flasky", "postgresql+psycopg://u:p@db/flasky"),
    ("postgres://u:p@db/flasky", "postgresql+psycopg://u:p@db/flasky"),
    ("mysql://u:p@db/flasky", "mysql+pymysql://u:p@db/flasky"),
    ("mysql+pymysql://u:p@db/flasky", "mysql+pymysql://u:p@db/flasky"),
    ("sqlite:////srv/x.sqlite", "sqlite:////srv/x.sqlite"),
])
def test_database_url_uses_shipped_drivers(monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    assert database_url() == expected


def test_dotenv_is_loaded_before_the_app_is_created(tmp_path):
    import subprocess
    import sys
    env_file = tmp_path / ".env"
    env_file.write_text("FLASK_CONFIG=production\nSECRET_KEY=from-dotenv\nFLASKY_RELEASE=r42\n"
                        f"DATABASE_URL=sqlite:///{tmp_path / 'd.sqlite'}\n")
    code = ("from flasky.wsgi import app; print(app.config['SECRET_KEY'], app.config['FLASKY_RELEASE'], "
            "app.config['PREFERRED_URL_SCHEME'])")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("FLASKY_ENV_FILE", "SECRET_KEY", "FLASK_CONFIG", "FLASKY_RELEASE")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["from-dotenv", "r42", "https"]
