"""The multi-host site as its users and operators see it: one HTTPS entry point spreading the
load over two app hosts, a database only the app hosts reach, mail through the relay, logs on
the log host, and the release lifecycle (upgrade, failed upgrade, rollback) under load.

The controller reaches the site like a lab user: https://localhost:<published port>/, trusting
only the lab's CA. Host checks run over SSH (testinfra's ansible backend, the lab inventory).
"""

import base64
import concurrent.futures
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import time
import uuid

import pytest
import requests
import testinfra

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
from lynis import lynis_index  # noqa: E402  (molecule/shared: Lynis' hardening index)

EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
LIFECYCLE = EPHEMERAL / "lifecycle"
PREFIX = os.environ.get("FLASKY_LAB_PREFIX", "flasky-lab")
OFFSET = int(os.environ.get("FLASKY_LAB_PORT_OFFSET", "0"))
STATE = pathlib.Path.home() / ".local/share/flasky-deploy" / PREFIX
URL = f"https://localhost:{8443 + OFFSET}"
CA = str(STATE / "ca" / "ca.crt")
APP_HOSTS = ("app1", "app2")
SECRETS = ("lab-secret-key-not-for-production", "lab-db-password-not-for-production", "lab-relay-password",
           "lab-backup-passphrase-not-for-production")

# The SSH port of each lab host on 127.0.0.1 (inventories/lab/hosts.yml: 2201 + offset, ...).
SSH_PORTS = {"web": 2201, "app1": 2202, "app2": 2203, "db": 2204, "log": 2205, "db2": 2206}

testinfra_hosts = ["local://"]  # one run of the module; the tests pick their hosts over SSH


@pytest.fixture(scope="session")
def ssh_config(tmp_path_factory):
    """The deployer's way in (testinfra's ansible backend does not render the inventory's
    templated SSH options): key, sudo user, the lab's own known_hosts, and one connection per
    host for all the tests' commands (a new connection per command meets the firewall's limit on
    new SSH connections: seconds of SYN retries each, 40 % of this module's time)."""
    directory = tmp_path_factory.mktemp("ssh")
    path = directory / "config"
    path.write_text("".join(
        f"Host {name}\n  HostName 127.0.0.1\n  Port {port + OFFSET}\n  User deploy\n"
        f"  IdentityFile {STATE / 'id_ed25519'}\n  UserKnownHostsFile {STATE / 'known_hosts'}\n"
        f"  StrictHostKeyChecking accept-new\n  IdentitiesOnly yes\n"
        f"  ControlMaster auto\n  ControlPath {directory}/%C\n  ControlPersist 30\n"
        for name, port in SSH_PORTS.items()))
    return str(path)


_NODES = {}


@pytest.fixture(scope="session", autouse=True)
def _nodes(ssh_config):
    for name in SSH_PORTS:
        _NODES[name] = testinfra.get_host(f"ssh://{name}", ssh_config=ssh_config, sudo=True)


def node(name):
    return _NODES[name]


def text_of(path):
    """A playbook log with its line wrapping undone (the YAML callback folds long messages)."""
    return " ".join(path.read_text(errors="replace").split())


def get(path, **kw):
    # verify per request: REQUESTS_CA_BUNDLE in the environment would override a session's
    return requests.get(URL + path, verify=CA, timeout=15, allow_redirects=False, **kw)


def can_connect(src, address, port):
    """True when a TCP connection from host `src` to address:port is accepted within 3 s."""
    out = src.run(f"python3 -c \"import socket; socket.create_connection(('{address}', {port}), 3)\"")
    return out.rc == 0


def address_of(name):
    return node(name).interface("eth0").addresses[0]


def mail_catcher(command):
    return subprocess.run(["docker", "exec", f"{PREFIX}-mail", "sh", "-c", command],
                          capture_output=True, text=True, check=False)


def wait_for(check, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(1)
    return check()


def lifecycle(name):
    return json.loads((LIFECYCLE / name).read_text())


# --- the site ---------------------------------------------------------------------------------

def test_https_home_page_through_the_load_balancer():
    answer = get("/")
    assert answer.status_code == 200
    assert "Flasky" in answer.text
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_anonymous_pages_come_from_the_page_cache_personal_ones_from_the_app():
    marker = uuid.uuid4().hex
    answers = [get(f"/?cache={marker}") for _ in range(3)]  # the entry lives 1 s (inventories/lab)
    assert answers[0].headers["X-Cache-Status"] == "MISS", answers[0].headers
    assert answers[1].headers["X-Cache-Status"] == "HIT", answers[1].headers
    assert answers[1].headers["Strict-Transport-Security"].startswith("max-age=")
    personal = get(f"/?cache={marker}", cookies={"session": "x"})
    assert personal.headers["X-Cache-Status"] == "BYPASS"
    served = sum(int(node(n).run(f"grep -c 'cache={marker}' /var/log/supervisor/flasky.log").stdout.strip() or 0)
                 for n in APP_HOSTS)
    # the miss and the personal one (and a refresh, if 1 s passed before the third)
    assert 2 <= served <= 3, f"the app hosts served {served} of 4 requests"


def test_http_redirects_to_https_on_the_published_port():
    answer = requests.get(f"http://localhost:{8080 + OFFSET}/auth/login", timeout=10, allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"].startswith("https://localhost")


def test_both_app_hosts_serve_requests():
    marker = uuid.uuid4().hex
    for _ in range(20):  # with a cookie: nginx's page cache passes personal requests on
        assert get(f"/?probe={marker}", cookies={"probe": marker}).status_code == 200
    for name in APP_HOSTS:
        log = node(name).run(f"grep -c 'probe={marker}' /var/log/supervisor/flasky.log")
        assert int(log.stdout.strip() or 0) >= 3, f"{name} served {log.stdout.strip()} of 20 probes"


def test_gunicorn_listens_on_the_private_address_only_for_the_web_host():
    web = node("web")
    log = node("log")
    for name in APP_HOSTS:
        address = address_of(name)
        assert can_connect(web, address, 8000), f"web cannot reach gunicorn on {name}"
        assert not can_connect(log, address, 8000), f"the log host reaches gunicorn on {name}"


def test_database_reachable_only_from_app_hosts_and_the_other_database_host():
    for server, peer in (("db", "db2"), ("db2", "db")):
        address = address_of(server)
        for name in APP_HOSTS + (peer,):
            assert can_connect(node(name), address, 5432), f"{name} cannot reach PostgreSQL on {server}"
        for name in ("web", "log"):
            assert not can_connect(node(name), address, 5432), f"{name} reaches PostgreSQL on {server}"


def test_database_users_only_from_app_hosts_in_pg_hba():
    hba = node("db").run("cat /etc/postgresql/*/main/pg_hba.conf").stdout
    for name in APP_HOSTS:
        address = address_of(name)
        lines = [line.split() for line in hba.splitlines() if address in line]
        assert lines and all(line[0] == "hostssl" for line in lines), lines
    assert address_of("web") not in hba


# Run on an app host as the app, with its own environment and driver: the connection as deployed,
# then the same credentials without TLS, trusting another CA, and naming another host.
DB_ATTEMPTS = r"""
import json, os, sqlalchemy
from sqlalchemy.engine import make_url
url = make_url(os.environ["DATABASE_URL"])
def attempt(u):
    try:
        with sqlalchemy.create_engine(u).connect() as c:
            return "ssl=%s" % c.exec_driver_sql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").scalar()
    except Exception as e:
        return "refused: " + " ".join(str(e).split())[:300]
print(json.dumps({
    "query": dict(url.query),
    "as_deployed": attempt(url),
    "without_tls": attempt(url.update_query_dict({"sslmode": "disable"})),
    "other_ca": attempt(url.update_query_dict({"sslrootcert": "/etc/ssl/certs/ca-certificates.crt"})),
    "other_name": attempt(url.set(host="web")),
}))
"""


def test_app_to_database_is_verified_tls_and_nothing_else_gets_in():
    for name in APP_HOSTS:
        out = node(name).run(f"sudo -u flasky /srv/flasky/bin/run python -c {shlex.quote(DB_ATTEMPTS)}")
        assert out.rc == 0, out.stderr
        result = json.loads(out.stdout)
        print(name, json.dumps({k: v for k, v in result.items() if k != "query"}))
        assert result["query"]["sslmode"] == "verify-full"
        assert result["as_deployed"] == "ssl=True"
        assert "no encryption" in result["without_tls"]
        assert "certificate verify failed" in result["other_ca"]
        assert "does not match host name" in result["other_name"]


def test_mail_from_the_app_reaches_the_relay_over_submission():
    # The side effect registered users; each got a confirmation mail through the local Postfix,
    # relayed with TLS + SASL to the lab's mail catcher.
    found = wait_for(lambda: mail_catcher(
        "grep -l 'To: before_upgrade@mail.lab.example.org' /home/inbox/Maildir/new/*").stdout.strip())
    assert found, mail_catcher("ls -l /home/inbox/Maildir/new; tail -20 /var/log/mail.log").stdout
    message = mail_catcher(f"cat {found.splitlines()[0]}").stdout
    assert "Confirm Your Account" in message
    assert re.search(r"with ESMTPSA", message), message[:1500]


def test_app_host_logs_arrive_on_the_log_host():
    marker = f"cluster-probe-{uuid.uuid4().hex}"
    node("app2").run(f"logger -t flasky {marker}")
    log = node("log")
    assert wait_for(lambda: log.run(f"grep -rl {marker} /var/log/remote/app2/").stdout.strip()), \
        log.run("ls -R /var/log/remote").stdout
    # and the app's own lines (gunicorn's access log goes to supervisor; the app logs to syslog)
    assert log.file("/var/log/remote/app1").is_directory


FORGED_HOST = r"""
import socket, ssl, sys
address, port, tls = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "tls"
sock = socket.create_connection((address, port), 5)
if tls:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        sock = context.wrap_socket(sock, server_hostname=sys.argv[4] if len(sys.argv) > 4 else None)
    except ssl.SSLError as exc:
        print("refused-handshake", exc); sys.exit(0)
sock.sendall(b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
print("answer:", sock.recv(100))
"""


def test_forged_host_gets_no_page_from_the_lab_network():
    """From the log host (on the lab network, as an attacker inside it would be): a forged Host
    over HTTP and over HTTPS gets no answer, an unknown SNI name no handshake."""
    log, web = node("log"), address_of("web")
    encoded = base64.b64encode(FORGED_HOST.encode()).decode()
    assert log.run(f"echo {encoded} | base64 -d > /tmp/forged_host.py").rc == 0
    assert log.run(f"python3 /tmp/forged_host.py {web} 80 plain").stdout.strip() == "answer: b''"
    assert log.run(f"python3 /tmp/forged_host.py {web} 443 tls localhost").stdout.strip() == "answer: b''"
    assert log.run(f"python3 /tmp/forged_host.py {web} 443 tls evil.example").stdout.startswith("refused-handshake")


def test_app_servers_refuse_a_forged_host_and_mails_link_to_the_server_name():
    """gunicorn on an app host, asked directly by the web host (the only one allowed) with a
    forged Host: refused by the app. A password reset asked through the site mails a link to the
    site's own name (SERVER_NAME), whatever the request said."""
    app1 = address_of("app1")
    answer = node("web").run(f"python3 -c \"import http.client as h; c = h.HTTPConnection('{app1}', 8000, timeout=5); "
                             "c.request('GET', '/auth/login', headers={'Host': 'evil.example'}); "
                             "print(c.getresponse().status)\"")
    assert answer.stdout.strip() == "400", answer.stdout + answer.stderr
    with requests.Session() as browser:
        form = browser.get(URL + "/auth/reset", verify=CA, timeout=15)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text).group(1)
        sent = browser.post(URL + "/auth/reset", verify=CA, timeout=15, allow_redirects=False,
                            headers={"Referer": URL + "/auth/reset", "X-Forwarded-Host": "evil.example"},
                            data={"csrf_token": token, "email": "before_upgrade@mail.lab.example.org"})
        assert sent.status_code == 302, sent.text[:500]
    found = wait_for(lambda: mail_catcher(
        "grep -l 'Reset Your Password' /home/inbox/Maildir/new/* 2>/dev/null").stdout.strip())
    assert found, mail_catcher("ls -l /home/inbox/Maildir/new").stdout
    message = mail_catcher(f"cat {found.splitlines()[0]}").stdout
    assert f"https://localhost:{8443 + OFFSET}/auth/reset/" in message.replace("=\n", ""), message[-1500:]
    assert "evil.example" not in message


def test_no_private_port_reachable_from_outside_while_the_site_was_deployed():
    """molecule/cluster/converge.yml watched, from a container on the lab network that is not a
    site host, the database, gunicorn and rsyslog ports during its site.yml run (from bare hosts:
    the firewall must come before any service listens): none was ever reached."""
    records = sorted(EPHEMERAL.glob("port-watch-*.jsonl"))
    assert records, records  # the converge (the scenario has no idempotence step)
    for record in records:
        lines = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        reached = [line for line in lines if "reached" in line]
        assert not reached, (record.name, reached[:5])
        assert lines and lines[-1].get("rounds", 0) > 10, (record.name, lines[-1:])


def open_ports(scanner, addresses):
    """{address: [open TCP ports]} of every port of every address, in one nmap run (the hosts are
    scanned in parallel; every port probed up to twice: on the lab's bridge a probe is lost only to the
    firewall, which the second probe meets again)."""
    out = scanner(f"nmap -Pn -n -p- --min-rate 25000 -T4 --max-retries 1 -oG - {' '.join(addresses)}")
    assert out.returncode == 0, out.stderr
    found = {address: [] for address in addresses}
    for line in out.stdout.splitlines():
        if line.startswith("Host: ") and "Ports: " in line:
            found[line.split()[1]] = sorted(int(port) for port in re.findall(r"(\d+)/open/tcp", line))
    return found


def scan_every_host():
    """{name: [open TCP ports]} of every lab host, from the mail catcher (lab/up.yml installs nmap there)."""
    addresses = {name: address_of(name) for name in SSH_PORTS}
    found = open_ports(mail_catcher, list(addresses.values()))
    return {name: found[address] for name, address in addresses.items()}


@pytest.fixture(scope="session", autouse=True)
def port_scan(_nodes):
    """The scan runs in the background from the session's start (it mostly waits on probes the
    firewall drops); its test, before the failover's, collects it."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    yield pool.submit(scan_every_host)
    pool.shutdown(wait=True)


def test_every_port_of_every_host_scanned_from_outside_only_ssh_and_the_web(port_scan):
    """From a container on the lab network that is not a site host: every TCP port of every lab
    host; only SSH everywhere, and HTTP/HTTPS on the web host."""
    found = port_scan.result()
    print(f"\nnmap from the mail catcher: {found}")
    for name, ports in found.items():
        expected = [22, 80, 443] if name == "web" else [22]
        assert ports == expected, name


def test_ssh_still_lets_the_deployer_in_with_a_key_only():
    for name in ("web", "app1", "db"):
        config = node(name).run("sshd -T").stdout
        assert "passwordauthentication no" in config
        assert "pubkeyauthentication yes" in config


def test_no_assembler_linker_or_compiler_on_any_host():
    """The app hosts compile sdists with tools installed for the build and removed after it; on
    Debian 12 (app1, db, log) no package check brings binutils (needrestart 3.6 depends on it)."""
    for name in SSH_PORTS:
        found = node(name).run("command -v as ld gcc cc clang").stdout.split()
        assert found == [], f"{name} has {found}"


def test_no_secret_in_the_playbook_logs():
    logs = [EPHEMERAL / "ansible.log"] + sorted(LIFECYCLE.glob("*.log"))
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {path}"


# --- the release lifecycle (side effect) ----------------------------------------------------

def no_failed_request(load):
    """scripts/loadgen.py's result: no request failed, and the load was kept up the whole time (at
    least half its rate: a load that stalled or stopped early proves nothing)."""
    assert load["failed"] == 0, load["failures"]
    assert load["rate"] >= 20 and load["requests"] >= load["rate"] * load["seconds"] / 2, \
        {key: load[key] for key in ("rate", "seconds", "requests", "rps")}


def test_upgrade_under_load_fails_no_request():
    assert (LIFECYCLE / "upgrade-1.1.0.rc").read_text().strip() == "0", \
        (LIFECYCLE / "upgrade-1.1.0.log").read_text()[-3000:]
    no_failed_request(lifecycle("upgrade-1.1.0.load.json"))


def test_upgrade_serves_the_new_release_everywhere_at_the_new_head():
    releases = {lifecycle(f"upgrade-1.1.0-{name}.json")["release"] for name in APP_HOSTS}
    assert len(releases) == 1 and releases.pop().startswith("1.1.0-")
    for name in APP_HOSTS:
        health = lifecycle(f"upgrade-1.1.0-{name}.json")
        assert health["migrations"]["current"] == ["0006"], health
        assert health["migrations"]["state"] == "head"


def test_upgrade_took_a_labelled_verified_backup_first():
    log = text_of(LIFECYCLE / "upgrade-1.1.0.log")
    match = re.search(r"Backup before the migration: (\S+-from-1\.0\.0-\w+-to-1\.1\.0-\w+\.dump)", log)
    assert match, log[-3000:]
    assert node("db").file(match.group(1)).exists


def test_failing_release_is_rolled_back_without_failed_requests():
    assert (LIFECYCLE / "upgrade-1.2.0.rc").read_text().strip() != "0"
    log = text_of(LIFECYCLE / "upgrade-1.2.0.log")
    assert re.search(r"Release 1\.2\.0-\w+ failed its health gate on app1", log), log[-3000:]
    assert re.search(r"switched back to 1\.1\.0-\w+", log)
    assert re.search(r"Rollout of 1\.2\.0-\w+ stopped on app1", log)
    no_failed_request(lifecycle("upgrade-1.2.0.load.json"))
    for name in APP_HOSTS:
        assert lifecycle(f"upgrade-1.2.0-{name}.json")["release"].startswith("1.1.0-")


def test_rollback_returns_to_the_previous_release_and_reports_the_database():
    assert (LIFECYCLE / "rollback.rc").read_text().strip() == "0", (LIFECYCLE / "rollback.log").read_text()[-3000:]
    log = text_of(LIFECYCLE / "rollback.log")
    assert re.search(r"Returning to 1\.0\.0-\w+ \(serving 1\.1\.0-\w+\)", log), log[-3000:]
    assert "Database at migration 0006" in log and "expects 0005" in log
    assert re.search(r"Matching dump: \S+-from-1\.0\.0-\w+-to-1\.1\.0-\w+\.dump \(not restored", log)
    no_failed_request(lifecycle("rollback.load.json"))
    for name in APP_HOSTS:
        health = lifecycle(f"rollback-{name}.json")
        assert health["release"].startswith("1.0.0-")
        assert health["migrations"] == {"current": ["0006"], "head": ["0005"], "state": "ahead"}


def test_data_written_before_and_after_is_intact():
    users = node("db").run(
        "sudo -u postgres psql -At -d flasky -c \"SELECT username FROM users "
        "WHERE username IN ('before_upgrade', 'after_upgrade', 'after_rollback') ORDER BY id\"")
    assert users.stdout.split() == ["before_upgrade", "after_upgrade", "after_rollback"], users.stderr
    # the table of the expand-only migration is still there after the rollback
    table = node("db").run("sudo -u postgres psql -At -d flasky -c \"SELECT to_regclass('announcements')\"")
    assert table.stdout.strip() == "announcements"


def test_database_recovered_to_a_point_in_time_from_the_backup_host():
    """recover-database.yml took the cluster back to the time noted before `after_target`
    registered, from the log host's pgBackRest repository: the earlier users are there, that one
    is gone, and the site took a registration afterwards. The repository is whole."""
    log = (LIFECYCLE / "recover.log").read_text()
    assert (LIFECYCLE / "recover.rc").read_text().strip() == "0", log[-3000:]
    took = re.search(r"Recovered to .*? in ([0-9.]+) s", " ".join(log.split()))
    assert took, log[-3000:]
    print(f"\npoint-in-time recovery of the cluster: {took.group(1)} s")
    users = node("db").run(
        "sudo -u postgres psql -At -d flasky -c \"SELECT username FROM users "
        "WHERE username IN ('after_rollback', 'after_target', 'after_recovery') ORDER BY id\"")
    assert users.stdout.split() == ["after_rollback", "after_recovery"], users.stdout + users.stderr
    info = node("log").run("sudo -u postgres pgbackrest --stanza=main --output=json info")
    assert info.rc == 0, info.stderr
    stanza = json.loads(info.stdout)[0]
    assert stanza["status"]["code"] == 0 and stanza["cipher"] == "aes-256-cbc", stanza["status"]
    assert [backup for backup in stanza["backup"] if backup["type"] == "full"]


def test_restore_drill_from_the_repository_equals_the_live_database_while_rows_are_written():
    """restore-drill.yml read the live database's sums at a WAL position (a temporary slot's
    snapshot) while a writer added a row every 50 ms, restored the log host's repository up to that
    position into a scratch copy on the db host and found every table equal; the copy is gone and
    never archived (the repository's newest WAL is on the live cluster's timeline)."""
    log = (LIFECYCLE / "drill.log").read_text()
    assert (LIFECYCLE / "drill.rc").read_text().strip() == "0", log[-3000:]
    text = " ".join(log.split())
    found = re.search(r"restored up to WAL position (\S+) .*? in ([0-9.]+) s .*?; (\d+) tables, (\d+) rows; "
                      r"every table equal to the live database at that position", text)
    assert found, log[-3000:]
    written = int((LIFECYCLE / "drill.written").read_text())
    print(f"\nrestore drill from the repository: position {found[1]}, {found[2]} s, {found[3]} tables, "
          f"{found[4]} rows; {written} rows written meanwhile")
    assert written >= 20 and int(found[4]) > 0
    assert node("db").run("test -e /var/lib/postgresql/flasky-drill").rc != 0
    timeline = node("db").run("sudo -u postgres psql -At -c 'SELECT timeline_id FROM pg_control_checkpoint()'")
    info = json.loads(node("log").run("sudo -u postgres pgbackrest --stanza=main --output=json info").stdout)[0]
    newest = max(archive["max"] for archive in info["archive"])
    assert int(newest[:8], 16) == int(timeline.stdout), (newest, timeline.stdout)


def psql(name, sql, database="postgres"):
    return node(name).run(f"sudo -u postgres psql -qAtX -F '|' -d {database} -c {shlex.quote(sql)}")


def test_standby_restored_from_the_repository_follows_the_primary_within_seconds():
    """db2, the second database host, was restored from the log host's repository as a hot
    standby (and rebuilt after the point-in-time recovery of db, whose new timeline it follows):
    it streams from db over verified TLS as the replication account, a row written on db is
    readable on db2 within seconds, and db2 refuses writes."""
    assert psql("db2", "SELECT pg_is_in_recovery()").stdout.strip() == "t"
    auto_conf = node("db2").run("cat /var/lib/postgresql/15/main/postgresql.auto.conf").stdout
    assert re.search(r"restore_command = 'pgbackrest --stanza=main archive-get", auto_conf), auto_conf
    senders = psql("db", "SELECT r.application_name, r.usename, r.state, s.ssl, r.client_addr "
                         "FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)")
    expected = [f"db2|replicator|streaming|t|{address_of('db2')}"]
    assert senders.stdout.split() == expected, senders.stdout + senders.stderr
    conninfo = psql("db2", "SELECT conninfo FROM pg_stat_wal_receiver").stdout
    assert "sslmode=verify-full" in conninfo and "host=db " in conninfo + " ", conninfo
    recover = text_of(LIFECYCLE / "recover.log")
    assert re.search(r"Rebuilt from \d{8}-\d{6}F in [0-9.]+ s", recover), recover[-2000:]
    users = ("SELECT username FROM users WHERE username IN ('after_rollback', 'after_target', 'after_recovery') "
             "ORDER BY id")
    assert psql("db2", users, "flasky").stdout.split() == ["after_rollback", "after_recovery"]

    token = uuid.uuid4().hex
    wrote = psql("db", "CREATE TABLE IF NOT EXISTS standby_probe (token text); "
                       f"INSERT INTO standby_probe VALUES ('{token}')")
    assert wrote.rc == 0, wrote.stderr
    start = time.monotonic()
    query = f"SELECT count(*) FROM standby_probe WHERE token = '{token}'"
    seen = wait_for(lambda: psql("db2", query).stdout.strip() == "1", timeout=10)
    print(f"\na row written on the primary was read on the standby after {time.monotonic() - start:.2f} s")
    assert seen
    refused = psql("db2", "INSERT INTO standby_probe VALUES ('on the standby')")
    assert refused.rc != 0 and "read-only transaction" in refused.stderr, refused.stderr


# --- Lynis --------------------------------------------------------------------------------------
# The audits run in the background from the module's start (mostly waiting on their own probes,
# they overlap the other tests); the test below, the module's last, collects them.

def in_container(name):
    return lambda command: subprocess.run(["docker", "exec", name, "sh", "-c", command],
                                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="session", autouse=True)
def lynis_audits(ssh_config):
    """Every lab host (web, app, db, log) and an untouched container of each lab image (Debian 12
    and 13, on the lab network: the baseline), audited side by side; the containers are removed
    at the end."""
    untouched = {release: f"{PREFIX}-untouched{release}" for release in (12, 13)}
    for release, name in untouched.items():
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", PREFIX, "--cgroupns", "host",
                        "--cap-add", "SYS_ADMIN", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                        f"flasky/debian-lab:{release}", "/lib/systemd/systemd"],
                       capture_output=True, check=True)
    runs = {name: testinfra.get_host(f"ssh://{name}", ssh_config=ssh_config, sudo=True).run for name in SSH_PORTS}
    runs.update({f"untouched{release}": in_container(name) for release, name in untouched.items()})
    pool = concurrent.futures.ThreadPoolExecutor(len(runs))
    yield {name: pool.submit(lynis_index, run) for name, run in runs.items()}
    pool.shutdown(wait=True)
    for name in untouched.values():
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_lynis_hardening_index_of_every_host(lynis_audits):
    """Each lab host's Lynis hardening index is at least 80, and at least 15 above the untouched
    image of its Debian release."""
    found = {name: future.result() for name, future in lynis_audits.items()}
    print(f"\nLynis hardening index: {found}")
    for name in SSH_PORTS:
        release = node(name).system_info.release.split(".")[0]
        baseline = found[f"untouched{release}"]
        assert found[name] >= 80 and found[name] - baseline >= 15, (name, found[name], baseline)


# --- the failover (the module's last test: it changes the database hosts' roles) --------------

def playbook(name, log, *extra):
    """Run one of the collection's playbooks on the lab, its output saved in the lifecycle record."""
    command = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(EPHEMERAL / "inventory"),
               str(pathlib.Path(__file__).resolve().parents[3] / "playbooks" / name), *extra]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    (LIFECYCLE / log).write_text(run.stdout + run.stderr)
    return run


def test_failover_that_cannot_catch_up_promotes_nothing_and_gives_the_writes_back():
    """With db2's replay paused and a write on db after it, failover.yml cannot see db2 catch up:
    it stops before the promotion, db takes writes again, db2 is still a standby and no host
    holds a record of another primary."""
    assert psql("db2", "SELECT pg_wal_replay_pause()").rc == 0
    try:
        assert psql("db", "CREATE TABLE failover_probe (); DROP TABLE failover_probe").rc == 0
        failed = playbook("failover.yml", "failover-paused.log", "-e", "failover_catch_up_timeout=3")
    finally:
        psql("db2", "SELECT pg_wal_replay_resume()")
    log = " ".join((failed.stdout + failed.stderr).split())
    assert failed.returncode != 0 and "Failover stopped: db2 was not promoted (it did not replay" in log, log[-3000:]
    assert psql("db", "SHOW default_transaction_read_only").stdout.strip() == "off"
    assert psql("db", "CREATE TABLE failover_probe (); DROP TABLE failover_probe").rc == 0
    assert psql("db2", "SELECT pg_is_in_recovery()").stdout.strip() == "t"
    for name in ("db", "db2"):
        assert node(name).run("test -e /etc/ansible/facts.d/flasky_database.fact").rc != 0, name


def test_failover_under_read_load_then_site_finds_nothing_to_change():
    """failover.yml promotes db2 while the load generator reads the DB-backed home page through the
    load balancer without pause: no request fails. A user registers through the site afterwards
    and is on db2, which is no longer in recovery; db's cluster is stopped and masked (fenced);
    the record names db2 on both hosts; and site.yml, run again, changes nothing on any host."""
    stop = LIFECYCLE / "failover.stop"
    stop.unlink(missing_ok=True)
    root = pathlib.Path(__file__).resolve().parents[3]
    load = subprocess.Popen([sys.executable, str(root / "scripts" / "loadgen.py"), URL + "/", "--cafile", CA,
                             "--connections", "6", "--header", "Cookie: loadgen=1",
                             "--rate", os.environ["FLASKY_LOAD_RATE"],
                             "--stop-file", str(stop), "--out", str(LIFECYCLE / "failover.load.json")])
    time.sleep(5)
    start = time.monotonic()
    failover = playbook("failover.yml", "failover.log")
    took = time.monotonic() - start
    stop.write_text("stop\n")
    load.wait(timeout=120)
    log = " ".join((failover.stdout + failover.stderr).split())
    assert failover.returncode == 0, log[-4000:]
    report = re.search(r"Failover done: db2 is the primary, promoted ([0-9.]+) s after", log)
    assert report, log[-3000:]
    result = lifecycle("failover.load.json")
    print(f"\nfailover: {took:.0f} s in all, db2 promoted {report[1]} s after it began; "
          f"{result['requests']} reads through it, {result['failed']} failed")
    no_failed_request(result)

    registered = subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve().parents[1] / "register.py"),
                                 URL + "/", CA, "after_failover"], capture_output=True, text=True, check=False)
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert psql("db2", "SELECT pg_is_in_recovery()").stdout.strip() == "f"
    users = psql("db2", "SELECT username FROM users WHERE username IN ('after_recovery', 'after_failover') "
                        "ORDER BY id", "flasky")
    assert users.stdout.split() == ["after_recovery", "after_failover"], users.stdout + users.stderr
    unit = node("db").run("systemctl is-enabled postgresql@15-main; systemctl is-active postgresql@15-main").stdout
    assert unit.split() == ["masked", "inactive"], unit
    for name in ("db", "db2"):
        record = json.loads(node(name).check_output("cat /etc/ansible/facts.d/flasky_database.fact"))
        assert record["primary"] == "db2" and record["fenced"] == ["db"], (name, record)
    # the dump the upgrade took on db (rollback.yml's restore) is on the new primary, the same bytes
    dump = re.search(r"Backup before the migration: (\S+\.dump)", text_of(LIFECYCLE / "upgrade-1.1.0.log"))[1]
    copies = [node(name).check_output(f"sha256sum {dump} {dump}.sums") for name in ("db", "db2")]
    assert copies[0] == copies[1] and node("db2").file(dump).user == "postgres", copies

    again = playbook("site.yml", "site-after-failover.log")
    recap = re.findall(r"^(\S+)\s*: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", again.stdout, re.M)
    assert again.returncode == 0 and recap, again.stdout[-4000:]
    assert {host for host, *_ in recap} >= set(SSH_PORTS), recap
    assert all(counts == ["0", "0", "0"] for _, *counts in recap), (recap, again.stdout[-6000:])
    for path in (LIFECYCLE / "failover.log", LIFECYCLE / "site-after-failover.log"):
        text = path.read_text(errors="replace")
        assert not [secret for secret in SECRETS if secret in text], path
