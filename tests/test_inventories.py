"""The shipped inventories and playbooks parse; a new inventory gets random secrets in vault; the
pre-flight refuses secrets that are not secret.

Controller-side only: ansible-inventory and --syntax-check read the shipped inventories;
playbooks/new-inventory.yml makes inventories in a temporary directory, and playbooks/check.yml
(only its `secrets` checks) runs against inventories whose hosts are this machine.
"""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).parent.parent
PLAYBOOKS = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))
GROUPS = {"webservers", "appservers", "dbservers"}
VAULT_PASSWORD = "a-test-vault-password-for-pytest"


def ansible(*args, vault=None):
    cmd = list(args) + (["--vault-password-file", str(vault)] if vault else [])
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"})


@pytest.mark.parametrize("name", ["prod", "staging", "lab"])
def test_inventory_has_the_site_groups_and_its_settings(name):
    out = ansible("ansible-inventory", "-i", f"inventories/{name}", "--list", "--export")
    assert out.returncode == 0, out.stderr
    inventory = json.loads(out.stdout)
    assert GROUPS <= set(inventory), sorted(inventory)
    for group in GROUPS:
        assert inventory[group].get("hosts"), f"{name}: no host in {group}"


def test_no_vault_with_a_published_password_ships():
    assert not list((ROOT / "inventories").glob("*/group_vars/all/vault.yml"))


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook):
    out = ansible("ansible-playbook", "--syntax-check", "-i", "inventories/prod", f"playbooks/{playbook}")
    assert out.returncode == 0, out.stderr + out.stdout


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    path = tmp_path_factory.mktemp("inventories")
    (path / "password").write_text(VAULT_PASSWORD + "\n")
    (path / "answers.yml").write_text(yaml.safe_dump({"new_vault_password": VAULT_PASSWORD,
                                                      "inventory_dir_root": str(path)}))
    return path


def new_inventory(work, name, server):
    out = ansible("ansible-playbook", "playbooks/new-inventory.yml", "-e", f"inventory_name={name}",
                  "-e", f"server_name={server}", "-e", f"@{work / 'answers.yml'}")
    return out, work / name


def on_this_machine(inventory):
    """The inventory's hosts replaced by this machine (what a user does with their servers)."""
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
        "children": {group: {"hosts": {"localhost": None}} for group in GROUPS}}}))


def check_secrets(inventory, vault=None, *, everything=False):
    """site.yml's pre-flight (check.yml) on an inventory: its secret checks only, or all of it."""
    tags = [] if everything else ["--tags", "secrets"]
    return ansible("ansible-playbook", "-i", str(inventory), "playbooks/check.yml", *tags, vault=vault)


def test_new_inventory_has_random_secrets_encrypted_and_passes_the_checks(work):
    out, first = new_inventory(work, "shop", "shop.example.com")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    _, second = new_inventory(work, "blog", "blog.example.com")
    vault = first / "group_vars" / "all" / "vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;") and oct(vault.stat().st_mode)[-3:] == "600"
    secrets = []
    for inventory in (first, second):
        view = ansible("ansible-vault", "view", str(inventory / "group_vars/all/vault.yml"), vault=work / "password")
        assert view.returncode == 0, view.stderr
        values = yaml.safe_load(view.stdout)
        assert set(values) == {"vault_deploy_secret_key", "vault_deploy_db_password", "vault_deploy_backup_cipher_pass"}
        assert all(len(v) == 64 and v.isalnum() for v in values.values())
        secrets += values.values()
    assert len(set(secrets)) == 6  # fresh for each secret and each inventory
    assert VAULT_PASSWORD not in out.stdout and not any(s in out.stdout for s in secrets)
    settings = yaml.safe_load((first / "group_vars/all/main.yml").read_text())
    assert settings["deploy_server_name"] == "shop.example.com"
    on_this_machine(first)
    # site.yml's whole pre-flight accepts it (settings, secrets, the app's source and release)
    checked = check_secrets(first, vault=work / "password", everything=True)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr
    assert "Check the secrets" in checked.stdout and "Check and build each app" in checked.stdout
    # an existing inventory is never overwritten
    again, _ = new_inventory(work, "shop", "shop.example.com")
    assert again.returncode != 0 and "exists" in again.stdout
    assert (first / "group_vars/all/vault.yml").read_text() == vault.read_text()


@pytest.mark.parametrize("secret_key, db_password, reason", [
    ("CHANGE-ME-to-a-long-random-secret-key-0123456789", "a-real-looking-password-0123", "a placeholder"),
    ("lab-secret-key-not-for-production", "lab-db-password-not-for-production",
     "published: it is written in plain text in"),
    ("k3y", "a-real-looking-password-0123", "shorter than 32 characters"),
])
def test_check_refuses_secrets_that_are_not_secret(work, secret_key, db_password, reason):
    inventory = work / f"refused-{reason[:5].strip(':')}"
    (inventory / "group_vars").mkdir(parents=True)
    on_this_machine(inventory)
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "deploy_app_source": str(ROOT / "app_src"), "deploy_secret_key": secret_key,
        "deploy_db_password": db_password}))
    out = check_secrets(inventory)
    assert out.returncode != 0
    report = " ".join(out.stdout.split())
    assert f"deploy_secret_key: {reason}" in report, report[-2000:]
    assert secret_key not in out.stdout + out.stderr and db_password not in out.stdout + out.stderr


def backup_site(work, name, settings, *, backup_on_db=False):
    """A site on this machine with a backup host: `localhost` in every group, and in
    backupservers either itself (backup_on_db) or `backup1`, another name for this machine."""
    inventory = work / name
    (inventory / "group_vars").mkdir(parents=True)
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    backup = "localhost" if backup_on_db else "backup1"
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"localhost": local, "backup1": local},
        "children": {**{group: {"hosts": {"localhost": None}} for group in GROUPS},
                     "backupservers": {"hosts": {backup: None}}}}}))
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "deploy_app_source": str(ROOT / "app_src"), "deploy_secret_key": "a-real-looking-secret-key-0123456789abcdef",
        "deploy_db_password": "a-real-looking-password-0123", **settings}))
    return ansible("ansible-playbook", "-i", str(inventory), "playbooks/check.yml", "--tags", "secrets")


@pytest.mark.parametrize("case, settings, backup_on_db, expected", [
    ("on-db", {"deploy_backup_cipher_pass": "a-real-looking-passphrase-0123456789abcdef"}, True,
     "a backup host must not be a database host"),
    ("mariadb-without-tls", {"deploy_db_engine": "mysql", "deploy_db_tls": False,
                             "deploy_backup_cipher_pass": "a-real-looking-passphrase-0123456789abcd"},
     False, "a MariaDB site needs deploy_db_tls"),
    ("no-passphrase", {}, False, "deploy_backup_cipher_pass: shorter than 32 characters"),
    ("placeholder", {"deploy_backup_cipher_pass": "change-me-change-me-change-me-change-me"}, False,
     "deploy_backup_cipher_pass: a placeholder"),
    ("accepted", {"deploy_backup_cipher_pass": "a-real-looking-passphrase-0123456789abcdef",
                  "deploy_allow_known_secrets": True}, False, None),
    ("mariadb-accepted", {"deploy_db_engine": "mysql", "deploy_allow_known_secrets": True,
                          "deploy_backup_cipher_pass": "a-real-looking-passphrase-0123456789abcdef"}, False, None),
])
def test_check_refuses_a_backup_host_it_cannot_trust(work, case, settings, backup_on_db, expected):
    """A backup host on a database host (the backups would die with it), on a MariaDB site whose
    database takes no TLS (the backup host's account is TLS only), or without a real passphrase is
    refused before any change; PostgreSQL and MariaDB sites with a backup host of their own pass."""
    out = backup_site(work, f"backup-{case}", settings, backup_on_db=backup_on_db)
    if expected is None:  # the control: a backup host of its own, a real passphrase
        assert out.returncode == 0, out.stdout[-3000:]
        return
    assert out.returncode != 0
    report = " ".join(out.stdout.split())
    assert expected in report, report[-2000:]
    for value in settings.values():
        if isinstance(value, str) and "pass" in value:
            assert value not in out.stdout + out.stderr


@pytest.mark.parametrize("playbook, extra, expected", [
    ("failover.yml", [], "this site's standbys are none"),
    ("failover.yml", ["-e", "failover_to=backup1"], "failover_to backup1 is not one of them"),
    ("rejoin.yml", ["-e", "rejoin=localhost"], "one of none (no host is fenced) (got localhost)"),
])
def test_failover_and_rejoin_refuse_what_they_cannot_do(work, playbook, extra, expected):
    """failover.yml on a site without a standby (or aimed at a host that is none) and rejoin.yml
    naming a host no failover fenced stop before any change, saying why."""
    name = f"{playbook.split('.')[0]}-{len(extra)}"
    backup_site(work, name, {"deploy_backup_cipher_pass": "a-real-looking-passphrase-0123456789abcdef",
                             "deploy_allow_known_secrets": True})
    out = ansible("ansible-playbook", "-i", str(work / name), f"playbooks/{playbook}", *extra)
    assert out.returncode != 0
    report = " ".join(out.stdout.split())
    assert expected in report, report[-2000:]
    assert "changed=0" in report and not re.search(r"changed=[1-9]", report), report[-2000:]


def read_wiring(work, inventory, hosts, message):
    """check.yml (which loads the wiring), then `message` (a template of the wiring's values) shown on
    `hosts`."""
    playbook = work / f"wiring-{inventory.name}.yml"
    playbook.write_text(yaml.safe_dump([
        {"ansible.builtin.import_playbook": str(ROOT / "playbooks" / "check.yml")},
        {"name": "Read the wiring", "hosts": hosts, "gather_facts": False,
         "tasks": [{"name": "Show the wired values", "ansible.builtin.debug": {"msg": message}}]},
    ]))
    return ansible("ansible-playbook", "-i", str(inventory), str(playbook))


def test_check_refuses_the_old_port_setting(work):
    """deploy_db_port was replaced by the engine role's own port (postgresql_port / mysql_port):
    an inventory that still sets it is told so before any change, not silently ignored."""
    passphrase = {"deploy_backup_cipher_pass": "a-real-looking-passphrase-0123456789abcdef"}
    out = backup_site(work, "old-port", {"deploy_db_port": 5433, **passphrase})
    assert out.returncode != 0
    assert "deploy_db_port is no longer read" in " ".join(out.stdout.split()), out.stdout[-2000:]
    moved = backup_site(work, "new-port", {"postgresql_port": 5433, "deploy_allow_known_secrets": True, **passphrase})
    assert moved.returncode == 0, moved.stdout[-3000:]
    # ... and the port reaches what the other roles are given: the app's DATABASE_URL, the backup host's
    wired = read_wiring(work, work / "new-port", "appservers:backupservers",
                        "url-port={{ flask_app_secret_env.DATABASE_URL | urlsplit('port') }}"
                        " pgbackrest={{ pgbackrest_pg_port }}"
                        " repository={{ pgbackrest_pg_hosts | map(attribute='port') }}"
                        " deploy-group={{ flask_app_deploy_group }} db={{ groups['dbservers'][0] }}")
    assert wired.returncode == 0, wired.stdout[-3000:]
    assert "url-port=5433 pgbackrest=5433 repository=[5433]" in wired.stdout, wired.stdout[-3000:]
    # ... and the app hosts' deploy step is grouped by the database's identity, not a host's name
    group = re.search(r"deploy-group=(\S+) db=(\S+)", " ".join(wired.stdout.split()))
    assert group and re.fullmatch(rf"postgresql://{re.escape(group[2])}:5433/\w+", group[1]), wired.stdout[-3000:]


@pytest.mark.parametrize("case, engine, backup, standby_also, refused", [
    ("mariadb", "mysql", True, [], True),
    ("no-backup-host", "postgresql", False, [], True),
    ("on-an-app-host", "postgresql", True, ["appservers"], True),
    ("accepted", "postgresql", True, [], False),
])
def test_check_refuses_a_standby_it_cannot_build(work, case, engine, backup, standby_also, refused):
    """A second database host is a PostgreSQL standby restored from the backup host's repository:
    a MariaDB site with two database hosts, a standby without a backup host, or one that is also
    an app host is refused before any change, naming the primary and the standbys; the control
    (PostgreSQL, a backup host, a database host of its own) passes and the wiring makes the second
    host a standby of the first."""
    inventory = work / f"standby-{case}"
    (inventory / "group_vars").mkdir(parents=True)
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    children = {group: {"hosts": {"localhost": None}} for group in GROUPS}
    children["dbservers"]["hosts"]["db2"] = None
    for group in standby_also:
        children[group]["hosts"]["db2"] = None
    if backup:
        children["backupservers"] = {"hosts": {"backup1": None}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"localhost": local, "db2": local, "backup1": local}, "children": children}}, sort_keys=False))
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "deploy_app_source": str(ROOT / "app_src"), "deploy_secret_key": "a-real-looking-secret-key-0123456789abcdef",
        "deploy_db_password": "a-real-looking-password-0123", "deploy_db_engine": engine,
        "deploy_backup_cipher_pass": "a-real-looking-passphrase-0123456789abcdef", "deploy_allow_known_secrets": True}))
    out = read_wiring(work, inventory, "database_standbys",
                      "primary={{ postgresql_primary.name }} group={{ postgresql_replication_group }}"
                      " password={{ postgresql_replication_password | length }}")
    report = " ".join(out.stdout.split())
    if not refused:
        assert out.returncode == 0, out.stdout[-3000:]
        assert "primary=localhost group=dbservers password=64" in report, report[-3000:]
        return
    assert out.returncode != 0
    assert "localhost is the primary (the first, unless a failover promoted another), the others (db2) its hot" \
        " standbys" in report, report[-2000:]
