"""What users of the pgbackrest role see: every WAL segment off the database host as it is
written, into an encrypted repository that only the site's named hosts may use, and a lost
database host recovered from it with every row older than the 60 s recovery point."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
import testinfra

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
from lost_host import recovered_rows  # noqa: E402  (molecule/shared: the figures of a lost host)

EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PRIMARY, BACKUP = "postgresql-primary", "postgresql-backup"


@pytest.fixture(scope="module")
def nodes(request):
    inventory = request.config.option.ansible_inventory
    return {name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory) for name in (PRIMARY, BACKUP)}


def pgbackrest(node, *args):
    with node.sudo("postgres"):
        return node.run("pgbackrest --stanza=main " + " ".join(args))


def test_repository_is_encrypted_and_holds_backups_and_the_archive(nodes):
    backup = nodes[BACKUP]
    out = pgbackrest(backup, "--output=json", "info")
    assert out.rc == 0, out.stderr
    info = json.loads(out.stdout)[0]
    assert info["status"]["code"] == 0, info["status"]
    assert info["cipher"] == "aes-256-cbc"
    assert [b for b in info["backup"] if b["type"] == "full"], info["backup"]
    segments = backup.run("find /var/lib/pgbackrest/archive -type f -name '0000*' | head -5").stdout.split()
    assert segments
    for path in segments:  # openssl's salted format: nothing readable without the passphrase
        assert backup.run(f"head -c 8 {path}").stdout == "Salted__", path
    for node, path in ((backup, "/etc/pgbackrest.conf"), (backup, "/etc/pgbackrest/tls/host.key"),
                       (nodes[PRIMARY], "/etc/pgbackrest/tls/host.key")):
        secret = node.file(path)
        assert (secret.user, secret.mode) == ("postgres", 0o600), path
    assert "molecule-repository-passphrase" not in nodes[PRIMARY].run("cat /etc/pgbackrest.conf").stdout


def test_lost_primary_recovered_with_every_row_older_than_60s(nodes):
    """The side effect wrote rows until 60 were older than 65 s, removed the primary's container and ran the
    recovery on a fresh one: every row committed 60 s or more before the loss is back."""
    record, committed, point = recovered_rows(EPHEMERAL, promised=60)
    back, lost = set(record["ids"]), record["lost_at"]
    print(f"\nrows committed {len(committed)}, back {len(back)}; recovery point {point:.1f} s before the loss;"
          f" from the loss to a cluster taking writes {record['recovered_at'] - lost:.1f} s"
          f" (the restore itself {record['recover_seconds']:.1f} s)")
    assert point <= 60
    # the recovered cluster takes writes and archives them again (check: a WAL switch reaches the repository)
    out = pgbackrest(nodes[BACKUP], "check")
    assert out.rc == 0, out.stderr


def test_recovery_the_repository_cannot_start_leaves_postgresql_running():
    record = json.loads((EPHEMERAL / "refused-recovery.json").read_text())
    assert "20000101-000000F is not one of them" in record["refusal"], record
    assert "PostgreSQL was left running" in record["refusal"], record
    assert record["before"] == record["after"], "the server was restarted"


def test_no_passphrase_or_key_in_the_output_at_vvv():
    """The recovery's converge ran at -vvv --diff (the repository's configuration rewritten, the
    fresh host's keys installed): neither the passphrase nor a key is in its output."""
    output = (EPHEMERAL / "disaster-converge.log").read_text()
    written = output.split("TASK [flasky.deploy.pgbackrest : Write the configuration]")[-1].split("TASK [")[0]
    assert f"changed: [{BACKUP}]" in written, written[-2000:]
    assert "molecule-repository-passphrase" not in output
    for name in (PRIMARY, BACKUP):
        key = (EPHEMERAL / "internal-ca" / "hosts" / f"{name}.key").read_text().splitlines()[1]
        assert key not in output, name


@pytest.mark.parametrize("who", ["another host of the site", "a forged certificate"])
def test_repository_refuses_clients_the_site_did_not_name(nodes, who):
    """The repository serves the stanza to the primary's certificate only: the certificate of
    another host of the site (the same CA; here the backup host's own) is refused by name, a
    self-signed one carrying the primary's name by the CA check."""
    primary = nodes[PRIMARY]
    assert "status: ok" in pgbackrest(primary, "info").stdout  # with the primary's own certificate
    if who == "another host of the site":
        for suffix in ("crt", "key"):
            source = EPHEMERAL / "internal-ca" / "hosts" / f"{BACKUP}.{suffix}"
            subprocess.run(["docker", "cp", str(source), f"{PRIMARY}:/var/tmp/other.{suffix}"], check=True)
        expected = "access denied"
    else:
        assert primary.run(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
            f" -subj /CN={PRIMARY} -keyout /var/tmp/other.key -out /var/tmp/other.crt").rc == 0
        expected = "unknown ca"
    assert primary.run("chown postgres /var/tmp/other.crt /var/tmp/other.key").rc == 0
    out = pgbackrest(primary, "--repo1-host-cert-file=/var/tmp/other.crt", "--repo1-host-key-file=/var/tmp/other.key",
                     "info")
    primary.run("rm -f /var/tmp/other.crt /var/tmp/other.key")
    assert "status: ok" not in out.stdout and expected in out.stdout + out.stderr, out.stdout + out.stderr
