"""A second app on the same hosts: `notes`, written for the test in the plain-tree shape of the
seed's Flasky, deployed from a git repository at a tag (the `default` scenario's `postgresql-ca` part; skipped where the
site runs one app).

What a user of such an app sees: it is served over HTTPS under its own name beside the
reference app, with its own user, database, socket and static files; its worker and its timer
run from the release as the app's user; the dependency compiled for Debian 13 works there without
the compilers; a new tag with a migration is a new release whose deploy step reports `changed`,
a new tag without one reports `ok`.
"""

import json
import os
import pathlib
import re
import time

import pytest
import requests
from test_stack import NamedHostAdapter, db_query, processes
from testinfra.utils.ansible_runner import AnsibleRunner

testinfra_hosts = ["ansible://appservers"]

NOTES = "notes"


@pytest.fixture(scope="module")
def notes(request):
    """The notes app's settings, read from the scenario's inventory."""
    runner = AnsibleRunner(request.config.option.ansible_inventory)
    apps = runner.get_variables(runner.get_hosts("appservers")[0]).get("deploy_apps") or []
    app = next((a for a in apps if a["name"] == NOTES), None)
    if app is None:
        pytest.skip("this scenario runs one app")
    return app


@pytest.fixture(scope="module")
def ca_file():
    return str(pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ca" / "ca.crt")


def https(host, name, ca_file, path):
    session = requests.Session()
    session.mount("https://", NamedHostAdapter(name))
    address = host.interface("eth0").addresses[0]
    return session.get(f"https://{address}{path}", headers={"Host": name}, verify=ca_file, timeout=10,
                       allow_redirects=False)


def notes_sql(host, sql):
    with host.sudo("postgres"):
        out = host.run(f"psql -d {NOTES} -qtA -c {sql!r}")
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def test_both_apps_served_over_https_under_their_own_names(host, notes, ca_file):
    page = https(host, notes["server_name"], ca_file, "/")
    assert page.status_code == 200, page.text[:300]
    assert "<h1>Notes</h1>" in page.text
    # `regex` (compiled for Debian 13 on the host) counted the words of the page.
    assert "3 words" in page.text
    flasky = https(host, "flasky.test", ca_file, "/")
    assert flasky.status_code == 200 and "Flasky" in flasky.text
    # each name gets its own certificate
    assert "notes.test" in host.run("openssl s_client -connect 127.0.0.1:443 -servername notes.test </dev/null "
                                    "2>/dev/null | openssl x509 -noout -subject").stdout


def test_static_files_of_the_tree_served_by_nginx(host, notes, ca_file):
    answer = https(host, notes["server_name"], ca_file, "/static/notes.css")
    assert answer.status_code == 200 and "color" in answer.text
    assert "max-age=31536000" in answer.headers["Cache-Control"]
    assert host.file(f"/srv/{NOTES}/current/static").linked_to.endswith("/notes/static")


def test_each_app_has_its_own_user_database_and_socket(host, notes):
    assert host.user(NOTES).uid != host.user("flasky").uid
    assert notes_sql(host, "SELECT tableowner FROM pg_tables WHERE tablename = 'beats'") == NOTES
    assert db_query(host, "SELECT count(*) FROM pg_tables WHERE tablename = 'beats'") == "0"  # not in flasky's
    for app in ("flasky", NOTES):
        sock = host.file(f"/run/{app}/gunicorn.sock")
        assert sock.is_socket and host.file(f"/run/{app}").user == app
    env = host.file(f"/srv/{NOTES}/shared/.env")
    assert env.user == NOTES and env.mode == 0o600
    assert "SERVER_NAME='notes.test'" in env.content_string
    assert re.search(r"DATABASE_URL='postgresql\+psycopg://notes:", env.content_string)


def test_release_is_the_source_tree_with_its_virtualenv(host, notes):
    release = host.file(f"/srv/{NOTES}/current").linked_to
    for path in ("app.py", "migrations/env.py", "requirements/prod.txt", "venv/bin/gunicorn", "venv/bin/flask"):
        assert host.file(f"{release}/{path}").exists, path
    assert host.file(f"{release}/.env").linked_to == f"/srv/{NOTES}/shared/.env"
    assert host.file(release).user == "root" and not host.file(release).mode & 0o022
    # gunicorn and psycopg were added (the app's requirements name neither)
    lock = host.file(f"{release}/.requirements.lock").content_string
    assert "gunicorn==" in lock and "psycopg==" in lock and "docopt==0.6.2" in lock


def test_compiled_dependency_built_on_the_host_and_compilers_gone(host, notes):
    release = host.file(f"/srv/{NOTES}/current").linked_to
    wheel_tag = host.run(f"{release}/venv/bin/python -c "
                         "\"import regex, importlib.metadata as m; print(m.distribution('regex').read_text('WHEEL'))\"")
    assert wheel_tag.rc == 0, wheel_tag.stderr
    python = host.run("python3 -c 'import sys; print(sys.version_info[:2])'").stdout
    if "13" in python:  # no wheel of regex 2023.3.23 for Python 3.13 on the index: built on the host
        assert "linux_x86_64" in wheel_tag.stdout, wheel_tag.stdout
    else:
        assert "manylinux" in wheel_tag.stdout, wheel_tag.stdout
    assert not host.exists("gcc") and not host.package("build-essential").is_installed


def test_worker_runs_from_the_release_as_the_app_user(host, notes):
    status = host.run(f"supervisorctl status {NOTES}-worker").stdout
    assert "RUNNING" in status, status
    uid = host.user(NOTES).uid
    workers = processes(host, r"flask work")
    assert workers and all(p[2] == uid for p in workers), workers
    before = int(notes_sql(host, "SELECT count(*) FROM beats WHERE kind = 'worker'"))
    time.sleep(5)
    assert int(notes_sql(host, "SELECT count(*) FROM beats WHERE kind = 'worker'")) > before


def test_timer_runs_the_command_of_the_current_release(host, notes):
    assert host.service(f"{NOTES}-tick.timer").is_running
    before = int(notes_sql(host, "SELECT count(*) FROM beats WHERE kind = 'timer'"))
    run = host.run(f"systemctl start {NOTES}-tick.service")
    assert run.rc == 0, run.stderr
    assert int(notes_sql(host, "SELECT count(*) FROM beats WHERE kind = 'timer'")) == before + 1
    assert notes_sql(host, "SELECT release FROM beats WHERE kind = 'timer' ORDER BY id DESC LIMIT 1") == \
        host.file(f"/srv/{NOTES}/current/RELEASE").content_string.strip()


def runs(name):
    """The JSON report of a run of the side effect (molecule/postgresql-ca/side_effect.yml)."""
    path = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "runs" / f"{name}.json"
    text = path.read_text()
    # the report is the last document, at the start of a line (-vvv prints lines before it)
    start = text.rindex("\n{\n") + 1 if "\n{\n" in text else text.index("{")
    return json.loads(text[start:])


def deploy_step(report, host_name):
    """The deploy step of the notes app on a host, in a run's report."""
    steps = [task["hosts"][host_name] for play in report["plays"] for task in play["tasks"]
             if "Run the deploy step" in task["task"]["name"] and host_name in task["hosts"]
             and not task["hosts"][host_name].get("skipped")
             and f"/srv/{NOTES}/" in " ".join(task["hosts"][host_name].get("cmd", []))]
    assert len(steps) == 1, steps
    return steps[0]


def test_a_new_tag_with_a_migration_reports_the_deploy_step_changed(host, notes):
    """site.yml with notes at v1.1 (migration 0002 added; `flask db upgrade` prints nothing)."""
    step = deploy_step(runs("site-second"), host.backend.get_hostname())
    assert step["changed"] is True, step
    assert json.loads(step["stdout_lines"][-1])["after"] == ["0002"]


def test_a_new_tag_without_one_reports_it_ok(host, notes, ca_file):
    """upgrade.yml -e deploy_app=notes at v1.2 (no migration): a new release, the step is ok."""
    step = deploy_step(runs("upgrade-notes"), host.backend.get_hostname())
    assert step["changed"] is False, step
    assert notes_sql(host, "SELECT version_num FROM alembic_version") == "0002"
    release = host.file(f"/srv/{NOTES}/current").linked_to.rsplit("/", 1)[1]
    assert re.fullmatch(r"v1\.2-[0-9a-f]{10}", release), release  # <tag>-<commit>
    releases = host.run(f"ls /srv/{NOTES}/releases").stdout.split()
    assert any(r.startswith("v1.1-") for r in releases) and any(r.startswith("v1.0-") for r in releases)
    # a new query: nginx's page cache may hold a page for a second
    assert "Release 1.2" in https(host, notes["server_name"], ca_file, "/?after=v1.2").text
    # the worker was restarted with the release
    workers = [p[4] for p in processes(host, r"flask work")]
    assert workers and all(f"/releases/{release}/" in cmd for cmd in workers), workers
