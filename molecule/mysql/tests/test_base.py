"""What a user of the base role can observe on the host."""

import pytest

testinfra_hosts = ["ansible://role_hosts"]  # the base role ran there first (../converge.yml)


def test_systemd_is_pid1_and_running(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


@pytest.mark.parametrize("pkg", ["acl", "ca-certificates", "locales", "netbase", "tzdata", "less"])
def test_packages_installed(host, pkg):
    assert host.package(pkg).is_installed


def test_timezone_applies_to_programs(host):
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Europe/Paris"
    assert host.file("/etc/timezone").content_string == "Europe/Paris\n"
    # What a program sees: Paris is UTC+1 or UTC+2, never UTC.
    assert host.run("date +%Z").stdout.strip() in ("CET", "CEST")


def test_locale_generated_and_default(host):
    assert "en_US.utf8" in host.run("locale -a").stdout.split()
    assert "LANG=en_US.UTF-8" in host.file("/etc/default/locale").content_string
    out = host.run("env -i bash -lc 'set -a; . /etc/default/locale; locale charmap'")
    assert out.stdout.strip() == "UTF-8"


def test_services_resolve_by_name(host):
    # netbase: /etc/services is present, which tools resolving "http" need
    assert host.run("getent services https").stdout.split()[1] == "443/tcp"
