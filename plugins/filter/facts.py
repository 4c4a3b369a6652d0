"""flasky.deploy.missing_facts: the hosts of a list whose facts this play has not gathered.

The roles that write other hosts' addresses into their configuration (firewall rules, the
database's client authentication) gather the facts they lack, delegated, before they template:
``loop: "{{ groups['appservers'] | flasky.deploy.missing_facts(hostvars) }}"``. Only the hosts
listed are looked at (not every host of the inventory, as a filter over ``hostvars`` would).
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DOCUMENTATION = """
name: missing_facts
short_description: The hosts of a list without a given fact
description:
  - Takes a list of inventory host names and returns, in order and without repeats, those whose
    C(ansible_facts) in O(hostvars) have no key O(fact) (by default C(default_ipv4), the address the
    roles write into configuration).
options:
  _input:
    description: Inventory host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: dict
    required: true
  fact:
    description: The fact that must be present, a key of C(ansible_facts).
    type: str
    default: default_ipv4
"""

EXAMPLES = """
- name: Learn the addresses of the client hosts
  ansible.builtin.setup:
    gather_subset: [network]
  delegate_to: "{{ item }}"
  delegate_facts: true
  loop: "{{ groups['appservers'] | flasky.deploy.missing_facts(hostvars) }}"
"""

RETURN = """
_value:
  description: The hosts to gather facts from; empty when every host has the fact.
  type: list
  elements: str
"""


def missing_facts(hosts, hostvars, fact="default_ipv4"):
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError(f"missing_facts expects a list of host names, got {type(hosts).__name__}")
    missing = []
    for host in dict.fromkeys(hosts):
        # Present but empty (a host without a default route) is gathered: gathering again would
        # give the same on every run.
        facts = (hostvars[host] if host in hostvars else {}).get("ansible_facts")
        if not isinstance(facts, Mapping) or fact not in facts:
            missing.append(host)
    return missing


class FilterModule:
    def filters(self):
        return {"missing_facts": missing_facts}
