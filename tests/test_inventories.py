"""The shipped inventories and playbooks parse, and the example vaults hold placeholders only.

Controller-side only (no hosts): ansible-inventory reads each inventory with the example vault
password, and every playbook passes --syntax-check against it.
"""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLE_VAULT_PASSWORD = "flasky-example-vault"  # documented in inventories/prod/README.md
PLAYBOOKS = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))
GROUPS = {"webservers", "appservers", "dbservers"}


@pytest.fixture(scope="module")
def vault_password_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vault") / "password"
    path.write_text(EXAMPLE_VAULT_PASSWORD + "\n")
    return str(path)


def ansible(*args, vault=None):
    cmd = list(args) + (["--vault-password-file", vault] if vault else [])
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "ANSIBLE_FORCE_COLOR": "0"})


@pytest.mark.parametrize("name", ["prod", "staging", "lab"])
def test_inventory_has_the_site_groups_and_its_settings(name, vault_password_file):
    out = ansible("ansible-inventory", "-i", f"inventories/{name}", "--list", "--export", vault=vault_password_file)
    assert out.returncode == 0, out.stderr
    inventory = json.loads(out.stdout)
    assert GROUPS <= set(inventory), sorted(inventory)
    for group in GROUPS:
        assert inventory[group].get("hosts"), f"{name}: no host in {group}"


@pytest.mark.parametrize("name", ["prod", "staging"])
def test_vault_is_encrypted_and_holds_placeholders(name, vault_password_file):
    path = ROOT / "inventories" / name / "group_vars" / "all" / "vault.yml"
    assert path.read_text().startswith("$ANSIBLE_VAULT;")
    out = ansible("ansible-vault", "view", str(path), vault=vault_password_file)
    assert out.returncode == 0, out.stderr
    for key in ("vault_deploy_secret_key", "vault_deploy_db_password"):
        assert f"{key}: CHANGE-ME" in out.stdout


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook, vault_password_file):
    out = ansible("ansible-playbook", "--syntax-check", "-i", "inventories/prod", f"playbooks/{playbook}",
                  vault=vault_password_file)
    assert out.returncode == 0, out.stderr + out.stdout
