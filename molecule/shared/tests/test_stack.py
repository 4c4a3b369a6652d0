"""What a user of the single-host stack sees: the app over HTTPS, served the way we promise.

Run on both parts of the `default` scenario: `postgresql-ca` (PostgreSQL, local CA) and `mariadb-acme`
(MariaDB, ACME certificate). HTTP requests go from the controller (this machine) to the container's address
with the site's name in SNI and Host, trusting only the CA the scenario names.
"""

import base64
import hashlib
import http.cookiejar
import json
import os
import pathlib
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

testinfra_hosts = ["ansible://webservers"]

APP = "flasky"
SECRETS = ("molecule-secret-key-0123456789abcdef", "molecule-db-password-4567")
PEBBLE_ROOT = "https://pebble:15000/roots/0"


class NamedHostAdapter(HTTPAdapter):
    """Connect to an address, but speak TLS to (and verify) the site's name."""

    def __init__(self, name):
        self.name = name
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self.name
        kwargs["assert_hostname"] = self.name
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def settings(host):
    variables = host.ansible.get_variables()
    return {"server_name": variables.get("deploy_server_name", "flasky.test"),
            "tls_mode": variables.get("deploy_tls_mode", "selfsigned"),
            "microcache": int(variables.get("nginx_microcache_seconds", 0)),
            # A scenario without a side effect (mariadb-acme) deploys one release: the release
            # lifecycle (restart strategy) is the same code, tested by `postgresql-ca`; a release failing
            # its health gate is switched back in `cluster`, under load.
            "second_release": variables.get("test_second_release", True)}


@pytest.fixture()
def second_release(settings):
    if not settings["second_release"]:
        pytest.skip("one release in this scenario; the release lifecycle is tested by `postgresql-ca`")


@pytest.fixture(scope="module")
def ca_file(host, settings, tmp_path_factory):
    """The one CA the site must chain to: the controller's local CA, or pebble's root."""
    if settings["tls_mode"] == "acme":
        # pebble makes a new root at each start; ask it from the web host (which trusts its API).
        out = host.run(f"python3 -c \"import urllib.request as u; print(u.urlopen('{PEBBLE_ROOT}').read().decode())\"")
        assert out.rc == 0, out.stderr
        path = tmp_path_factory.mktemp("pebble") / "root.pem"
        path.write_text(out.stdout)
        return str(path)
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ca" / "ca.crt"
    assert path.is_file(), f"no CA file at {path}"
    return str(path)


@pytest.fixture(scope="module")
def site(host, settings, ca_file):
    address = host.interface("eth0").addresses[0]
    name = settings["server_name"]
    session = requests.Session()
    # No cookie jar: each request carries only the cookies a test passes (like a new visitor).
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.mount("https://", NamedHostAdapter(name))
    verify = ca_file  # per request: REQUESTS_CA_BUNDLE would override session.verify
    session.headers["Host"] = name

    class Site:
        def get(self, path, **kw):
            return session.get(f"https://{address}{path}", timeout=10, allow_redirects=False,
                               verify=verify, **kw)

        def post(self, path, **kw):
            return session.post(f"https://{address}{path}", timeout=10, allow_redirects=False,
                                verify=verify, **kw)

        def plain_get(self, path):
            return requests.get(f"http://{address}{path}", headers={"Host": name},
                                timeout=10, allow_redirects=False)

    result = Site()
    result.name = name
    return result


def db_query(host, sql):
    if host.exists("psql"):
        with host.sudo("postgres"):
            out = host.run(f"psql -d flasky -qtA -c {sql!r}")
    else:
        out = host.run(f"mariadb -N -B flasky -e {sql!r}")
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


PROCESSES = r"""
import json, os, re, sys
out = []
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        status = dict(line.split(":\t", 1) for line in open(f"/proc/{p}/status") if ":\t" in line)
    except OSError:
        continue
    try:
        cwd = os.readlink(f"/proc/{p}/cwd")
    except OSError:  # another user's process: needs CAP_SYS_PTRACE, which containers lack
        cwd = None
    if re.search(sys.argv[1], cmd):
        out.append([int(p), int(status["PPid"]), int(status["Uid"].split()[0]), cwd, cmd])
print(json.dumps(out))
"""


def processes(host, pattern):
    """[pid, ppid, uid, cwd, cmdline] of processes matching pattern (read from /proc: no procps here)."""
    encoded = base64.b64encode(PROCESSES.encode()).decode()
    out = host.run(f"echo {encoded} | base64 -d > /tmp/processes.py && python3 /tmp/processes.py {pattern!r}")
    assert out.rc == 0, out.stderr
    return [p for p in json.loads(out.stdout) if "processes.py" not in p[4]]


def test_home_page_over_https(site):
    page = site.get("/")
    assert page.status_code == 200
    assert "<title>" in page.text and "Flasky" in page.text


def test_certificate_from_the_configured_issuer(host, site, settings):
    issuer = host.run(f"openssl s_client -connect 127.0.0.1:443 -servername {site.name} </dev/null 2>/dev/null"
                      " | openssl x509 -noout -issuer").stdout
    expected = "Pebble Intermediate CA" if settings["tls_mode"] == "acme" else "flasky.deploy local CA"
    assert expected in issuer, issuer


def test_page_cache_serves_anonymous_pages_only(site, settings):
    """nginx_microcache_seconds: anonymous GETs come from nginx's cache; requests with a cookie,
    forms that set one and POSTs always reach the app. Off: no answer is cached."""
    marker = uuid.uuid4().hex
    first, second = site.get(f"/?c={marker}"), site.get(f"/?c={marker}")
    personal = site.get(f"/?c={marker}", cookies={"session": "anything"})
    form = site.get("/auth/login"), site.get("/auth/login")
    if not settings["microcache"]:
        assert "X-Cache-Status" not in second.headers
        return
    assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == ("MISS", "HIT")
    assert second.text == first.text
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert personal.headers["X-Cache-Status"] == "BYPASS"
    # the login form sets a session cookie (its CSRF token): never stored, never shared
    assert "Set-Cookie" in form[1].headers and form[1].headers["X-Cache-Status"] == "MISS"
    assert re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form[0].text).group(1) != \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form[1].text).group(1)


def test_other_names_get_no_page(host, site, ca_file):
    """A forged or unknown Host gets no page (closed without an answer), over HTTP and over
    HTTPS; an unknown SNI name, or none, gets no handshake."""
    address = host.interface("eth0").addresses[0]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}/", headers={"Host": "evil.example"}, timeout=10, allow_redirects=False)
    with pytest.raises(requests.ConnectionError):
        site.get("/auth/reset", headers={"Host": "evil.example"})
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False
    for sni in ("evil.example", None):
        with socket.create_connection((address, 443), timeout=10) as raw:
            with pytest.raises(ssl.SSLError):
                context.wrap_socket(raw, server_hostname=sni).close()
    assert site.get("/healthz").status_code == 200  # the site's own name still works


def test_tls_is_mozilla_intermediate_per_sslyze(host, site, ca_file):
    """sslyze (PyPI) against the served site: Mozilla's intermediate profile, certificate life
    span included (at most 365 days), chained to the CA the scenario trusts."""
    address = host.interface("eth0").addresses[0]
    sslyze = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / ".tools" / "venv" / "bin" / "sslyze"
    run = subprocess.run([str(sslyze), "--mozilla_config=intermediate", f"--certinfo_ca_file={ca_file}",
                          f"{site.name}:443{{{address}}}"], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-1000:]
    assert f"{site.name}:443: OK - Compliant." in run.stdout, run.stdout[-4000:]  # sslyze 6's verdict


def served_certificate(address, name, ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection((address, 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert()


def test_acme_certificate_renewed_on_the_host_without_a_failed_request(host, site, settings, ca_file):
    """acme mode: the host's timer renews the certificate (pebble issues 10-day certificates, the
    timer renews under 30 days left) and nginx serves the new one after a graceful reload, with
    no failed request and no restart; no playbook run involved."""
    if settings["tls_mode"] != "acme":
        pytest.skip("acme mode only")
    timer = host.service("flasky-acme-renew.timer")
    assert timer.is_enabled and timer.is_running
    address = host.interface("eth0").addresses[0]
    before = served_certificate(address, site.name, ca_file)
    master = host.run("cat /run/nginx.pid").stdout.strip()
    failures, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            try:
                if site.get("/healthz").status_code != 200:
                    failures.append("status")
            except requests.RequestException as exc:
                failures.append(repr(exc))

    worker = threading.Thread(target=load)
    worker.start()
    try:
        renewal = host.run("systemctl start flasky-acme-renew.service")
        assert renewal.rc == 0, renewal.stderr
        deadline = time.monotonic() + 30
        while served_certificate(address, site.name, ca_file)["serialNumber"] == before["serialNumber"]:
            assert time.monotonic() < deadline, "the renewed certificate is not served"
            time.sleep(0.5)
    finally:
        stop.set()
        worker.join()
    assert not failures, failures[:5]
    assert host.run("cat /run/nginx.pid").stdout.strip() == master  # reloaded, not restarted
    assert "installed a new certificate" in host.run("journalctl -t flasky-acme-renew --no-pager").stdout


def test_http_redirects_to_https(site):
    answer = site.plain_get("/auth/login?next=%2F")
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"https://{site.name}/auth/login?next=%2F"


def test_acme_challenge_path_is_not_redirected(site):
    answer = site.plain_get("/.well-known/acme-challenge/no-such-token")
    assert answer.status_code == 404


def test_maintenance_switch(host, site):
    """The flag file the role's nginx_maintenance writes: 503 page, health and static still up."""
    flag = f"/var/lib/nginx/{APP}-maintenance.on"
    assert host.run(f"touch {flag}").rc == 0
    try:
        page = site.get("/")
        assert page.status_code == 503
        assert "Down for maintenance" in page.text and page.headers["Retry-After"]
        assert "max-age=63072000" in page.headers["Strict-Transport-Security"]
        assert site.get("/healthz").status_code == 200
        assert site.get("/static/style.css").status_code == 200
    finally:
        host.run(f"rm -f {flag}")
    assert site.get("/").status_code == 200


def test_security_headers(site):
    headers = site.get("/").headers
    hsts = dict(re.findall(r"(max-age)=(\d+)", headers["Strict-Transport-Security"]))
    assert int(hsts["max-age"]) >= 63072000
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]
    assert "Server" not in headers or headers["Server"] == "nginx"  # no version


def test_static_file_served_by_nginx_with_cache_headers(host, site):
    answer = site.get("/static/style.css")
    assert answer.status_code == 200
    assert "text/css" in answer.headers["Content-Type"]
    assert int(re.search(r"max-age=(\d+)", answer.headers["Cache-Control"]).group(1)) >= 31536000
    assert re.fullmatch(r'(W/)?"[0-9a-f]+-[0-9a-f]+"', answer.headers["ETag"])  # nginx's ETag form
    # gunicorn never saw it: its access log (supervisor's program log) has no /static/ line.
    assert "/static/style.css" not in host.file(f"/var/log/supervisor/{APP}.log").content_string


def test_healthz_carries_the_release(host, site):
    answer = site.get("/healthz")
    assert answer.status_code == 200, answer.text
    release = host.file(f"/srv/{APP}/current/.release").content_string.strip()
    assert answer.json()["release"] == release
    assert answer.headers["Cache-Control"].startswith("no-store")


def test_register_through_the_web_form(host, site):
    form = site.get("/auth/register")
    assert form.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text) or \
        re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    name = "u" + uuid.uuid4().hex[:10]
    answer = site.post("/auth/register", data={
        "csrf_token": token.group(1), "email": f"{name}@example.org", "username": name,
        "password": "correct horse battery", "password2": "correct horse battery"},
        cookies=form.cookies, headers={"Referer": f"https://{site.name}/auth/register"})
    assert answer.status_code == 302, answer.text[:1000]
    assert db_query(host, f"SELECT count(*) FROM users WHERE username = '{name}'") == "1"


def test_processes_run_as_intended_users(host):
    app_uid = host.user(APP).uid
    supervisord = processes(host, r"supervisord")
    assert supervisord and all(p[2] == 0 for p in supervisord)
    gunicorn = processes(host, rf"/srv/{APP}/.*bin/gunicorn ")
    assert len(gunicorn) >= 2, gunicorn  # master + workers
    assert all(p[2] == app_uid for p in gunicorn), gunicorn


def start_time(host, pid):
    return int(host.file(f"/proc/{pid}/stat").content_string.rsplit(")", 1)[1].split()[19])


def test_supervisord_survived_the_release_restart(host, second_release):
    """The side effect restarted the app's program only: supervisord is older than gunicorn."""
    supervisord = processes(host, r"bin/supervisord")[0][0]
    master = int(host.run(f"supervisorctl pid {APP}").stdout.strip())
    assert start_time(host, supervisord) < start_time(host, master)


def test_programs_never_failed_to_start(host):
    """From the first deployment on, every program of every app started on a release: none exited
    unexpectedly (on a first deployment they used to be added before their release existed and fail
    with exit status 127 until supervisord gave up) and none was given up on."""
    log = host.file("/var/log/supervisor/supervisord.log").content_string
    failures = [line for line in log.splitlines() if "not expected" in line or "gave up" in line]
    assert not failures, failures


def test_env_file_is_private(host):
    env = host.file(f"/srv/{APP}/shared/.env")
    assert env.user == APP and env.mode == 0o600
    assert "SECRET_KEY=" in env.content_string


def secret_forms(secrets):
    """Each secret as it is, and URL-encoded (DATABASE_URL carries the password that way)."""
    return {form for secret in secrets for form in (secret, urllib.parse.quote(secret, safe=""))}


def test_secrets_not_in_the_ansible_output(host):
    """Playbook runs only: the log also holds testinfra's `ansible-inventory --list`, which
    prints this scenario's inventory, where the test secrets are plain values. Plus the side
    effect's runs at -vvv --diff, where they exist (molecule/postgresql-ca/side_effect.yml)."""
    log = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.log"
    entries, pid = {}, None
    for line in log.read_text().splitlines():
        match = re.match(r"\d{4}-\d\d-\d\d [\d:,]+ p=(\d+) ", line)
        pid = match.group(1) if match else pid
        entries.setdefault(pid, []).append(line)
    playbook_runs = ["\n".join(lines) for lines in entries.values() if any("TASK [" in line for line in lines)]
    assert len(playbook_runs) >= 2  # converge, idempotence (and the side effect)
    assert any("flasky.deploy.flask_app : Write shared/.env" in run for run in playbook_runs)
    verbose = sorted((pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "runs").glob("*"))  # .json, .log
    runs = playbook_runs + [path.read_text(errors="replace") for path in verbose]
    variables = host.ansible.get_variables()
    # The backup passphrase and the MariaDB backup account's password derived from it (vars/wiring.yml).
    backup = variables.get("deploy_backup_cipher_pass")
    backup_secrets = (backup, hashlib.sha256(f"{backup}:mysql_archive".encode()).hexdigest()) if backup else ()
    secrets = secret_forms(SECRETS + backup_secrets + tuple(value for app in variables.get("deploy_apps", [])
                                                            for key, value in app.items()
                                                            if key in ("secret_key", "db_password")))
    leaks = sorted({secret for secret in secrets for run in runs if secret in run})
    assert not leaks, leaks


def test_secrets_not_in_logs(host):
    logs = host.run("cat /var/log/supervisor/*.log /var/log/nginx/*.log 2>/dev/null").stdout
    assert not any(secret in logs for secret in SECRETS)


def test_new_release_served_after_restart(host, site, second_release):
    """side_effect deployed `molecule-second`: the new code serves, the old release is kept."""
    assert host.file(f"/srv/{APP}/current").linked_to == f"/srv/{APP}/releases/molecule-second"
    assert site.get("/healthz").json()["release"] == "molecule-second"
    releases = host.run(f"ls /srv/{APP}/releases").stdout.split()
    assert "molecule-second" in releases and len(releases) >= 2, releases  # the previous one is kept
    # Every gunicorn process (master and workers) runs the new release's interpreter (the
    # shebang of venv/bin/gunicorn, resolved through `current` at start).
    gunicorn = processes(host, rf"/srv/{APP}/.*bin/gunicorn ")
    assert len(gunicorn) >= 2
    for pid, _, _, _, cmd in gunicorn:
        assert cmd.startswith(f"/srv/{APP}/releases/molecule-second/venv/bin/python"), (pid, cmd)


def test_gunicorn_master_killed_recovers_within_10s(host, site):
    master = host.run(f"supervisorctl pid {APP}").stdout.strip()
    assert master.isdigit()
    assert host.run(f"kill -9 {master}").rc == 0
    deadline = time.monotonic() + 10
    while True:  # back = a NEW master is running and the site answers 200
        new = host.run(f"supervisorctl pid {APP}").stdout.strip()
        try:
            if new.isdigit() and new not in ("0", master) and site.get("/").status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "site not back within 10 s"
        time.sleep(0.25)


# Last: it spends this client address's budget of the rate-limited paths.
def test_login_posts_are_rate_limited_and_health_is_not(site):
    codes = [site.post("/auth/login", data={"email": "nobody@example.com", "password": "guess"}).status_code
             for _ in range(20)]
    assert codes.count(429) >= 10 and codes[0] != 429, codes
    limited = site.post("/auth/login", data={"email": "nobody@example.com", "password": "guess"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0, limited.headers
    assert [site.get("/healthz").status_code for _ in range(20)] == [200] * 20
    assert site.get("/auth/login").status_code == 200  # reading the form is not limited
