"""The collection's `missing_facts` filter (firewall, postgresql and mysql learn the addresses they
lack with it), called directly, and once through Ansible with a real `hostvars`."""

import importlib.util
import pathlib
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

ROOT = pathlib.Path(__file__).resolve().parent.parent
_SPEC = importlib.util.spec_from_file_location("flasky_facts", ROOT / "plugins" / "filter" / "facts.py")
facts = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(facts)

HOSTVARS = {
    "app1": {"ansible_facts": {"default_ipv4": {"address": "10.0.0.1"}}},
    "app2": {"ansible_facts": {"distribution": "Debian"}},  # facts, but not the network's
    "app3": {},  # no facts at all
    "app4": {"ansible_facts": {"default_ipv4": {}}},  # gathered: a host without a default route
}


def test_only_the_hosts_without_the_fact_in_order_once():
    assert facts.missing_facts(["app3", "app1", "app2", "app3", "app4"], HOSTVARS) == ["app3", "app2"]


def test_another_fact():
    assert facts.missing_facts(["app1", "app2"], HOSTVARS, fact="distribution") == ["app1"]


def test_a_host_outside_the_inventory_is_missing_too():
    assert facts.missing_facts(["elsewhere"], HOSTVARS) == ["elsewhere"]


def test_nothing_missing_is_an_empty_list():
    assert facts.missing_facts([], HOSTVARS) == [] and facts.missing_facts(["app1"], HOSTVARS) == []


@pytest.mark.parametrize("hosts", ["app1", None, {"app1": 1}])
def test_not_a_list_is_an_error(hosts):
    with pytest.raises(AnsibleFilterError):
        facts.missing_facts(hosts, HOSTVARS)


PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Give one host the fact
      ansible.builtin.set_fact:
        ansible_facts: {default_ipv4: {address: 10.0.0.1}}
      when: inventory_hostname == 'one'
    - name: Show the hosts still missing it
      ansible.builtin.debug:
        msg: "MISSING={{ groups['all'] | flasky.deploy.missing_facts(hostvars) | join(',') }}"
      run_once: true
"""


def test_through_ansible_with_real_hostvars(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    out = subprocess.run(["ansible-playbook", "-i", "one,two,three,", "-c", "local", str(playbook)],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "MISSING=two,three" in out.stdout, out.stdout[-2000:]
