"""Bad input fails in the role's argument validation (or its first checks), before any change,
naming the variable; good input (tests/good_input.yml) passes each role's checks (its validate
entry point), so a check that refuses every value shows up here too.

A case runs the role's main entry point, or the one its `tasks_from` names. Runs in check mode
against local hosts, so nothing on the controller can change. All cases of
tests/bad_input.yml run in ONE ansible-playbook call: every case is its own
inventory host (local connection) carrying the case's variables, so a failing case does not
stop the others and the whole file costs one Ansible start-up (cases of roles with run_once
checks get a play each).
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent
CASES = yaml.safe_load((HERE / "bad_input.yml").read_text())
# Good input: each role's checks alone (tasks_from: validate) must pass (tests/good_input.yml).
GOOD = {name: dict(case, tasks_from="validate")
        for name, case in yaml.safe_load((HERE / "good_input.yml").read_text()).items()}

PLAY = """
- name: Start each role with bad input
  hosts: {hosts}
  gather_facts: false
  tasks:
    - name: Run the role under test
      ansible.builtin.include_role:
        name: "flasky.deploy.{{{{ case_role }}}}"
        tasks_from: "{{{{ case_tasks_from }}}}"
      when: case_role is defined
"""
# Roles that read their settings once per play (run_once, e.g. a source on the controller) see
# the first host's values: each of their cases gets a play of its own, with a host that runs
# nothing (a play whose hosts all failed would end the run). So do the cases of another entry point
# (`tasks_from`): an include_role's `tasks_from` is the same for every host of a play.
ONCE_PER_PLAY = {"flask_app"}
# Required inputs a role takes from another (the wiring gives them), so that a case is about its
# own variable only: a case's vars win.
REQUIRED = {"gunicorn": {"gunicorn_app_dir": "/srv/flasky/current"},
            "nginx": {"nginx_upstream_servers": ["unix:/run/flasky/gunicorn.sock"]},
            "pgbackrest": {"pgbackrest_pg_port": 5432, "pgbackrest_pg_path": "/var/lib/postgresql/17/main",
                           "pgbackrest_pg_service": "postgresql@17-main"},
            "mysql_archive": {"mysql_archive_port": 3306}}


@pytest.fixture(scope="session")
def results(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad_input")
    # A git repository of the `notes` test app, for the cases about git sources.
    subprocess.run([str(HERE / "apps" / "make_repo.sh"), str(work / "notes.git")], check=True)
    # A certificate and its key for the good cases of TLS settings (FLASKY_TLS_DIR), made here.
    (work / "tls").mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(work / "tls" / "key.pem"), "-out", str(work / "tls" / "cert.pem"), "-days", "2",
                    "-subj", "/CN=db.example.com"], check=True, capture_output=True)
    hosts = {}
    cases = {**CASES, **GOOD}
    for name, case in cases.items():
        hostvars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "case_role": case["role"], "case_tasks_from": case.get("tasks_from", "main")}
        hostvars.update(REQUIRED.get(case["role"], {}))
        hostvars.update(case["vars"])
        hosts[name] = hostvars
    hosts["bystander"] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (work / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    alone = sorted(name for name, case in cases.items() if case["role"] in ONCE_PER_PLAY or "tasks_from" in case)
    groups = ["all:" + ":".join(f"!{name}" for name in alone)] + [f"{name}:bystander" for name in alone]
    (work / "play.yml").write_text("".join(PLAY.format(hosts=json.dumps(group)) for group in groups))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               FLASKY_TESTS=str(HERE), FLASKY_TLS_DIR=str(work / "tls"),
               FLASKY_NOTES_REPO=str(work / "notes.git"), FLASKY_BUILD_DIR=str(work / "build"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run(
        ["ansible-playbook", "--check", "-i", str(work / "inventory.yml"), str(work / "play.yml")],
        # A hang guard only: in CI the checks run on idle CPU (scripts/test.sh) and may wait long for it.
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert proc.stdout.startswith("{"), proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _events(results, host):
    for play in results["plays"]:
        for task in play["tasks"]:
            if host in task["hosts"]:
                yield task["task"]["name"], task["hosts"][host]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_early_naming_the_variable(results, case):
    events = list(_events(results, case))
    failed = [(name, res) for name, res in events if res.get("failed")]
    assert failed, f"{case}: the role accepted bad input {CASES[case]['vars']}"
    name, res = failed[0]
    # The argument spec, or a role's own checks (tasks named "Check ...", which run before any
    # task that changes something) for what a spec cannot express (formats, ranges).
    assert "Validating arguments" in name or name.split(" : ")[-1].startswith("Check "), \
        f"{case}: failed late, in task {name!r}"
    # A looped check fails with "One or more items failed": the reasons are in its items.
    messages = res.get("msg", "") + " ".join(item.get("msg", "") for item in res.get("results", []))
    assert CASES[case]["expect"] in messages, messages
    changed = [n for n, r in events if r.get("changed")]
    assert not changed, f"{case}: tasks changed something before failing: {changed}"


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_input_passes_the_checks(results, case):
    events = list(_events(results, case))
    assert events, f"{case}: no task ran"
    failed = [(name, res.get("msg", "")) for name, res in events if res.get("failed")]
    assert not failed, f"{case}: good input {GOOD[case]['vars']} refused: {failed}"
