"""What users of the mysql_archive role see: MariaDB's binary log streamed off the database host
as it is written, into an encrypted archive on the backup host with dumps on a timer, reachable
by the backup host's account only, and a lost database host recovered from it."""

import json
import os
import pathlib
import sys
import time

import pytest
import testinfra

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))
from lost_host import recovered_rows  # noqa: E402  (molecule/shared: the figures of a lost host)

EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PRIMARY, BACKUP, OTHER = "mysql-primary", "mysql-backup", "mysql-debian13"
ARCHIVE = "/var/lib/flasky-mysql-archive"


@pytest.fixture(scope="module")
def nodes(request):
    inventory = request.config.option.ansible_inventory
    return {name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)
            for name in (PRIMARY, BACKUP, OTHER)}


def address(node):
    return node.interface("eth0").addresses[0]


def test_lost_primary_recovered_with_every_committed_row_streamed(nodes):
    """The side effect wrote rows until 60 were older than 25 s, removed the primary's container and ran the
    recovery on a fresh one: every row committed 20 s or more before the loss is back (at least 50
    of them), and the stream makes the recovery point a few seconds at most."""
    record, committed, point = recovered_rows(EPHEMERAL, promised=20)
    back, lost = set(record["ids"]), record["lost_at"]
    missing = len([row for row in committed if row not in back])
    print(f"\nrows committed {len(committed)}, back {len(back)} ({missing} missing); recovery point {point:.1f} s"
          f" before the loss; from the loss to a server taking writes {record['recovered_at'] - lost:.1f} s"
          f" (staging and recovery {record['stage_and_recover_seconds']:.1f} s, of which the restore and the"
          f" replay of {len(record['binlogs'])} binary log file(s) {record['recover_seconds']:.1f} s)")
    assert point <= 10, "the stream should have carried every commit but the last seconds'"


def test_a_recovery_to_before_the_first_dump_is_refused_before_anything_is_staged():
    """The stage entry point to a time before every dump: refused, naming the database, with
    nothing decrypted or fetched (recover-database.yml runs the same check before the
    maintenance page goes on)."""
    record = json.loads((EPHEMERAL / "refused-stage.json").read_text())
    assert "the archive holds no dump of flasky taken before 2000-01-01 00:00:00" in record["refusal"], record
    assert "Nothing was stopped" in record["refusal"], record
    assert record["staged"] == [], record


def test_archive_is_encrypted_and_private(nodes):
    backup = nodes[BACKUP]
    assert backup.run("systemctl start flasky-mysql-archive@seal.service").rc == 0
    dumps = backup.run(f"find {ARCHIVE}/dumps -name '*.sql.gz.enc'").stdout.split()
    sealed = backup.run(f"find {ARCHIVE}/binlog -name '*.enc'").stdout.split()
    assert dumps and sealed, (dumps, sealed)
    for path in dumps + sealed:  # openssl's salted format: nothing readable without the passphrase
        assert backup.run(f"head -c 8 {path}").stdout == "Salted__", path
    # Clear: only the file being written, in the current timeline.
    clear = backup.run(f"find {ARCHIVE}/binlog -type f ! -name '*.enc'").stdout.split()
    current = backup.run(f"readlink {ARCHIVE}/binlog/current").stdout.strip()
    assert len(clear) == 1 and f"/binlog/{current}/" in clear[0], clear
    assert (backup.file(ARCHIVE).user, backup.file(ARCHIVE).mode) == ("flasky-archive", 0o700)
    for path in ("/etc/flasky-mysql-archive/cipher", "/etc/flasky-mysql-archive/client.cnf"):
        secret = backup.file(path)
        assert (secret.user, secret.group, secret.mode) == ("root", "flasky-archive", 0o640), path


def test_the_stream_follows_the_recovered_server_on_a_new_timeline(nodes):
    """The rebuilt server starts its binary log over: the stream refused it until the recovery
    started a new timeline (the old one kept), then follows it; a row written now is on the
    backup host within seconds."""
    primary, backup = nodes[PRIMARY], nodes[BACKUP]
    journal = backup.run("journalctl -u flasky-mysql-archive-stream --no-pager").stdout
    assert "not the archived one" in journal or "does not continue the archived one" in journal, journal[-2000:]
    timelines = backup.run(f"find {ARCHIVE}/binlog -mindepth 1 -maxdepth 1 -type d").stdout.split()
    assert len(timelines) == 2, timelines
    # ... and starts with a dump: a second loss is recovered from the new timeline.
    current = backup.run(f"readlink {ARCHIVE}/binlog/current").stdout.strip()
    positions = backup.run(f"cat {ARCHIVE}/dumps/flasky/*.position").stdout
    assert current in positions, positions
    marker = int(time.time())
    assert primary.run(f"mariadb flasky -e 'INSERT INTO ticks (id) VALUES ({marker})'").rc == 0
    current = f"{ARCHIVE}/binlog/current"
    for _ in range(20):
        out = backup.run(f"cd {current} && mariadb-binlog --base64-output=decode-rows -v $(ls | grep -v enc)")
        assert "out of order" not in out.stderr + out.stdout, out.stderr  # the replay kept the server's GTIDs in order
        if f"@1={marker}" in out.stdout:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"row {marker} not in the backup host's binary log: {out.stdout[-1500:]} {out.stderr}")


@pytest.mark.parametrize("case", ["without TLS", "from another host", "a write", "the accounts"])
def test_the_archive_account_is_tls_only_from_the_backup_host_and_reads_only(nodes, case):
    primary, backup = nodes[PRIMARY], nodes[BACKUP]
    server = address(primary)
    client = "mariadb --defaults-file=/etc/flasky-mysql-archive/client.cnf"
    assert backup.run(f"{client} -N -e 'SELECT 1'").stdout.strip() == "1"  # the account works, verified TLS
    account = f"MYSQL_PWD=molecule-archive-account-0123 mariadb --no-defaults -h {server} -u flasky_archive"
    if case == "without TLS":
        out = backup.run(f"{account} --skip-ssl -N -e 'SELECT 1'")
    elif case == "from another host":
        out = nodes[OTHER].run(f"{account} --ssl -N -e 'SELECT 1'")
    elif case == "a write":
        out = backup.run(f"{client} flasky -e 'INSERT INTO ticks (id) VALUES (1)'")
    else:
        out = backup.run(f"{client} -e 'SELECT COUNT(*) FROM mysql.user'")
    refusal = {"without TLS": "Access denied", "from another host": "is not allowed to connect", "a write": "denied",
               "the accounts": "denied"}
    assert out.rc != 0 and refusal[case] in out.stderr, out.stderr


def test_no_passphrase_password_or_key_in_the_output_at_vvv():
    """The recovery's converge ran at -vvv --diff (the archive's files rewritten, the fresh
    host's key installed): neither the passphrase, the account's password nor a key is in it."""
    output = (EPHEMERAL / "disaster-converge.log").read_text()
    written = output.split("TASK [flasky.deploy.mysql_archive : Write the account")[-1].split("TASK [")[0]
    assert f"changed: [{BACKUP}]" in written, written[-2000:]
    for secret in ("molecule-archive-passphrase", "molecule-archive-account-0123"):
        assert secret not in output, secret
    key = (EPHEMERAL / "internal-ca" / "hosts" / f"{PRIMARY}.key").read_text().splitlines()[1]
    assert key not in output


def test_the_drill_gives_back_exactly_the_live_database_at_its_position():
    """The side effect's drill (playbooks/restore-drill.yml's steps) ran while rows were written:
    the archive's dump and binary log, replayed to the position of sums read in one snapshot of
    the live database, gave back every table exactly; sums tampered with (one row less) failed."""
    record = json.loads((EPHEMERAL / "drill.json").read_text())
    drill = record["drill"]
    print(f"\ndrill: {drill['tables']} tables of {drill['database']} from {drill['dump']} and the binary log to"
          f" {drill['position']} in {drill['seconds']} s; sums {record['sums']['tables']}")
    assert drill["differences"] == [] and int(drill["tables"]) >= 1
    # every row the recovery brought back, and those the drill's writer had added by then
    recovered = len(json.loads((EPHEMERAL / "disaster.json").read_text())["ids"])
    assert "ticks" in record["sums"]["tables"] and int(record["sums"]["tables"]["ticks"].split()[0]) >= recovered
    assert "differs from the live database" in record["tampered"] and "ticks" in record["tampered"], record["tampered"]
