"""Drift between two runs is repaired by the next run of site.yml, as an operator expects from a
converge: the `default` scenario's `postgresql-ca` part's side effect drifts the host (a package removed, a service
stopped and disabled, a managed file edited, the secrets file opened to everyone, both apps'
TLS keys replaced) right before
its second `site.yml`, and records it; skipped where nothing drifted (`mariadb-acme`).
"""

import pytest

testinfra_hosts = ["ansible://appservers"]

DRIFT_RECORD = "/var/lib/flasky-test/drifted"
APP = "flasky"


@pytest.fixture(scope="module", autouse=True)
def drifted(host):
    if not host.file(DRIFT_RECORD).exists:
        pytest.skip("this scenario does not drift its host")


def test_a_removed_package_is_installed_and_running_again(host):
    assert host.package("fail2ban").is_installed
    assert host.service("fail2ban").is_running


def test_a_stopped_and_disabled_service_runs_and_starts_at_boot_again(host):
    postfix = host.service("postfix")
    assert postfix.is_running and postfix.is_enabled


def test_an_edited_file_is_written_again_and_in_effect(host):
    assert "drift" not in host.file("/etc/ssh/sshd_config.d/50-hardening.conf").content_string
    effective = host.run("/usr/sbin/sshd -T")
    assert effective.rc == 0, effective.stderr
    assert "permitrootlogin yes" not in effective.stdout.lower()


def test_the_secrets_file_is_private_again(host):
    env = host.file(f"/srv/{APP}/shared/.env")
    assert env.mode == 0o600 and env.user == APP


@pytest.mark.parametrize("app", ["flasky", "notes"])
def test_a_replaced_tls_key_gets_a_new_certificate_that_nginx_serves(host, app):
    """Both apps' installed certificates no longer matched their keys: the run issued a new one for
    each key, from the same CA, for the same name, and nginx serves them."""
    tls = f"/etc/nginx/tls/{app}"
    cert_key = host.run(f"openssl x509 -in {tls}.crt -noout -pubkey")
    key = host.run(f"openssl pkey -in {tls}.key -pubout")
    assert cert_key.rc == 0 and key.rc == 0, cert_key.stderr + key.stderr
    assert cert_key.stdout == key.stdout, "the certificate is not the key's"
    served = host.run(f"openssl s_client -connect 127.0.0.1:443 -servername {app}.test </dev/null 2>/dev/null"
                      " | openssl x509 -noout -pubkey")
    assert served.stdout == key.stdout, "nginx does not serve the new certificate"
