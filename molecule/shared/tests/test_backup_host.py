"""A MariaDB site with a backup host (the `default` scenario's `mariadb-acme` part): site.yml wires
the database host's binary log, the backup host's account and firewall rule, and the archive;
what the app writes reaches the backup host within seconds, and the archive's dump is encrypted.
No test where the site has no MariaDB backup host (the PostgreSQL sites' pgBackRest is tested in
`roles` and `cluster`)."""

import os
import pathlib
import re
import time

import pytest
import testinfra

testinfra_hosts = ["ansible://backupservers"]

ARCHIVE = "/var/lib/flasky-mysql-archive"


@pytest.fixture(scope="module")
def database(host, request):
    if not host.file(ARCHIVE).exists:
        pytest.skip("this site's backup host keeps no MariaDB archive")
    inventory = request.config.option.ansible_inventory
    return testinfra.get_hosts(["ansible://dbservers"], ansible_inventory=inventory)[0]


def test_a_row_written_on_the_database_host_reaches_the_backup_host(host, database):
    marker = int(time.time())
    sql = (f"CREATE TABLE IF NOT EXISTS archive_probe (id BIGINT PRIMARY KEY); "
           f"INSERT INTO archive_probe VALUES ({marker})")
    assert database.run(f"mariadb flasky -e {sql!r}").rc == 0
    for _ in range(60):  # the stream reconnects RestartSec (10 s) after losing the server
        out = host.run(f"cd {ARCHIVE}/binlog/current && mariadb-binlog --base64-output=decode-rows -v"
                       " $(ls | grep -v '[.]enc$')")
        if f"@1={marker}" in out.stdout:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"row {marker} not in the backup host's binary log: {out.stderr or out.stdout[-1000:]}")
    assert database.run("mariadb flasky -e 'DROP TABLE archive_probe'").rc == 0


def test_the_archive_holds_an_encrypted_dump_of_the_apps_database(host):
    for _ in range(30):  # the first run starts the first dump in the background
        dumps = host.run(f"find {ARCHIVE}/dumps/flasky -name '*.sql.gz.enc'").stdout.split()
        if dumps:
            break
        time.sleep(1)
    assert dumps
    assert host.run(f"head -c 8 {dumps[0]}").stdout == "Salted__"
    assert host.service("flasky-mysql-archive-stream").is_running
    assert host.service("flasky-mysql-archive-dump.timer").is_enabled


def test_the_sites_restore_drill_gave_back_every_table(host):
    """The side effect ran playbooks/restore-drill.yml: the archive's dump and binary log, replayed to
    the position of the live database's sums, gave back every table of the app's database."""
    log = " ".join((pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.log").read_text().split())
    reports = re.findall(r"Drill of flasky: (\d+) tables restored from \S+ and the binary log to \S+ in [\d.]+ s;"
                         r" every table equal", log)
    assert reports and int(reports[-1]) >= 2, log[-3000:]  # the app's tables and alembic_version


def test_the_sites_recovery_went_back_to_the_point_in_time(host):
    """The side effect wrote a row, noted a time, wrote another and ran playbooks/recover-database.yml
    to that time: the first row is back, the second is gone (the test above then shows that the
    recovered server's writes reach the backup host again)."""
    record = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "recover"
    if not record.exists():
        pytest.skip("this scenario's side effect runs no recovery")
    log = (record / "log").read_text()
    rows = (record / "rows").read_text().split()
    assert (record / "rc").read_text().strip() == "0", f"recover-database.yml failed: {log[-3000:]}"
    print("\n" + " ".join(line.strip() for line in log.splitlines() if "Recovered " in line))
    assert rows == ["1"], f"rows after the recovery: {rows} (expected ['1']); {log[-3000:]}"
