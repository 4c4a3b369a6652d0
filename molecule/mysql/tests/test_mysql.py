"""What users of the mysql role see: a private MariaDB, password auth, working backups."""

import json
import os
import pathlib
import shlex

import pytest
import testinfra

testinfra_hosts = ["ansible://role_hosts"]  # the role alone

APP = "MYSQL_PWD={pw} mariadb -h 127.0.0.1 -u {user} flasky -N -e {sql!r}"


def name_of(host):
    return host.backend.get_hostname()


def app_sql(host, sql, pw="app-password-from-vault", user="flasky"):
    return host.run(APP.format(pw=pw, user=user, sql=sql))


def root_sql(host, sql):
    out = host.run(f"mariadb -N -e {sql!r}")
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def test_service_running(host):
    assert host.service("mariadb").is_running


def test_app_user_connects_over_tcp_and_creates_a_table(host):
    out = app_sql(host, "CREATE TABLE IF NOT EXISTS t_verify (id INT); INSERT INTO t_verify VALUES (1); "
                        "SELECT COUNT(*) > 0 FROM t_verify;")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_wrong_password_and_unknown_user_are_refused(host):
    for out in (app_sql(host, "SELECT 1", pw="wrong-password"), app_sql(host, "SELECT 1", user="intruder")):
        assert out.rc != 0 and "Access denied" in out.stderr


def test_root_only_through_the_socket_without_password(host):
    # The side effect adds a remote root; the reconverge removes it.
    assert root_sql(host, "SELECT COUNT(*) FROM mysql.user WHERE User = 'root' AND Host <> 'localhost'") == "0"
    plugin = root_sql(host, "SELECT JSON_VALUE(Priv, '$.plugin') FROM mysql.global_priv "
                            "WHERE User = 'root' AND Host = 'localhost'")
    assert plugin == "unix_socket" or "unix_socket" in root_sql(
        host, "SELECT Priv FROM mysql.global_priv WHERE User='root' AND Host='localhost'")
    out = host.run("MYSQL_PWD= mariadb -h 127.0.0.1 -u root -e 'SELECT 1'")
    assert out.rc != 0  # no root over TCP


def test_no_anonymous_users_no_test_database(host):
    # Debian's MariaDB starts without them: the side effect adds them, the reconverge removes them.
    assert root_sql(host, "SELECT COUNT(*) FROM mysql.user WHERE User = ''") == "0"
    assert "test" not in root_sql(host, "SHOW DATABASES").split()


def test_utf8mb4_defaults(host):
    assert root_sql(host, "SELECT @@character_set_server, @@collation_server").split() == \
        ["utf8mb4", "utf8mb4_unicode_ci"]
    assert root_sql(host, "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                          "WHERE SCHEMA_NAME = 'flasky'") == "utf8mb4"


def test_listens_on_loopback_or_the_private_address_only(host):
    """mysql-debian13 serves the other host (mysql_serve_remote): its private address too, never a wildcard."""
    lines = [line.split() for line in host.run("ss -ltnH").stdout.splitlines() if line.strip()]
    addrs = sorted(f[3].rsplit(":", 1)[0] for f in lines if f[3].endswith(":3306"))
    expected = ["127.0.0.1"] + ([host.interface("eth0").addresses[0]] if name_of(host) == "mysql-debian13" else [])
    assert addrs == sorted(expected), addrs


# Run on the client host with Debian's PyMySQL, as an app's SQLAlchemy URL with ssl_ca and
# ssl_check_hostname connects: the server's certificate verified, its address checked.
PYMYSQL = r"""
import json, sys, pymysql
def attempt(**ssl):
    try:
        c = pymysql.connect(host=sys.argv[1], user="flasky", password="app-password-from-vault", database="flasky",
                            ssl=ssl or None, connect_timeout=5)
        with c.cursor() as cur:
            cur.execute("SHOW STATUS LIKE 'Ssl_version'")
            return "tls=" + cur.fetchone()[1]
    except Exception as e:
        return "refused: " + " ".join(str(e).split())[:300]
print(json.dumps({"verified": attempt(ca=sys.argv[2], check_hostname=True),
                  "without_tls": attempt(),
                  "other_ca": attempt(ca="/etc/ssl/certs/ca-certificates.crt", check_hostname=True)}))
"""


def test_remote_client_gets_in_over_verified_tls_only(host, request):
    """From the backup host (the client group) to mysql-debian13: the account requires TLS, the
    client verifies the server's certificate (the CA on the controller) and its address."""
    if name_of(host) != "mysql-debian13":
        pytest.skip("the server that serves another host")
    client = testinfra.get_host("ansible://mysql-backup", ansible_inventory=request.config.option.ansible_inventory)
    address = host.interface("eth0").addresses[0]
    ca = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "internal-ca", "ca.crt").read_text()
    assert client.run(f"printf '%s' {shlex.quote(ca)} > /tmp/db-ca.crt").rc == 0
    # Debian's PyMySQL, installed on the backup host by converge.yml.
    out = client.run(f"python3 -c {shlex.quote(PYMYSQL)} {address} /tmp/db-ca.crt")
    assert out.rc == 0, out.stderr
    result = json.loads(out.stdout)
    print(f"\nPyMySQL from mysql-backup to {address}: {result}")
    assert result["verified"].startswith("tls=TLSv1.")
    assert "Access denied" in result["without_tls"]
    assert "CERTIFICATE_VERIFY_FAILED" in result["other_ca"]
    # and the MariaDB client without TLS (--skip-ssl): refused by the account
    plain = client.run(f"MYSQL_PWD=app-password-from-vault mariadb --skip-ssl -h {address} -u flasky flasky "
                       "-e 'SELECT 1'")
    assert plain.rc != 0 and "Access denied" in plain.stderr, plain.stderr


def test_restore_brought_the_rows_back_and_the_dumps_schema(host):
    out = app_sql(host, "SELECT COUNT(*) FROM probe")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "1234"
    # what the later release's migration created is gone: the column, the table, the view
    columns = root_sql(host, "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) "
                             "FROM information_schema.columns WHERE table_schema = 'flasky' AND table_name = 'probe'")
    assert columns == "id,v"
    tables = root_sql(host, "SELECT GROUP_CONCAT(table_name ORDER BY table_name) "
                            "FROM information_schema.tables WHERE table_schema = 'flasky'")
    # (t_verify is made by the test above, after the restore)
    assert set(tables.split(",")) - {"t_verify"} == {"probe"}, tables


def test_restore_ran_as_the_databases_account_not_root(host):
    restored_as = host.file("/root/molecule-backup-path").content_string.split("\n")[1]
    assert restored_as.startswith("flasky@"), restored_as


def test_backup_is_verified_and_private(host):
    path = host.file("/root/molecule-backup-path").content_string.split("\n")[0]
    dump = host.file(path)
    assert dump.exists and dump.size > 0 and dump.mode == 0o600
    assert host.file("/var/backups/mysql").mode == 0o700
    assert host.run(f"zcat {path} | tail -n 1").stdout.startswith("-- Dump completed")
    assert "CREATE TABLE `probe`" in host.run(f"zcat {path}").stdout


def test_backup_timer_scheduled_and_service_works(host):
    assert host.service("flasky-mysql-backup.timer").is_enabled
    out = host.run("systemctl start flasky-mysql-backup.service")
    assert out.rc == 0, host.run("journalctl -u flasky-mysql-backup --no-pager -n 20").stdout
    assert int(host.run("ls /var/backups/mysql/flasky/*.sql.gz | wc -l").stdout) >= 2


def test_runtime_setting_applied_live_without_restart(host):
    before, after, _ = (int(x) for x in host.file("/root/molecule-uptimes").content_string.split())
    assert after >= before, "max_connections changed: the server must not restart"


def test_read_only_setting_restarted_and_is_live(host):
    _, after, restart = (int(x) for x in host.file("/root/molecule-uptimes").content_string.split())
    assert restart < after, "skip_name_resolve changed: the server must restart"
    assert root_sql(host, "SELECT @@max_connections, @@skip_name_resolve").split() == ["222", "0"]


def test_buffer_pool_derived_from_ram(host):
    ram_mb = int(host.run("awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo").stdout)
    want = max(((ram_mb // 4 + 127) // 128) * 128, 128) * 1048576
    assert int(root_sql(host, "SELECT @@innodb_buffer_pool_size")) == want


def test_refused_settings_fail_before_any_restart(host):
    record = json.loads(host.file("/root/molecule-refused.json").content_string)
    refused = record["refused"]
    assert "mysql_port" in refused["port"], refused
    # the server's own words, naming the variable
    assert "unknown variable 'no_such_setting=1'" in refused["unknown"], refused
    assert "'wait_timeout'" in refused["value"], refused
    assert "'sql_safe_updates'" in refused["changed"], refused
    assert all("nothing was changed" in refused[case] for case in ("unknown", "value", "changed")), refused
    # the same start (no restart, no crash: the uptime's origin within a second) and the same file
    before, after = record["before"].split("\n"), record["after"].split("\n")
    assert abs(int(before[0]) - int(after[0])) <= 1 and before[1] == after[1], record
    conf = host.file("/etc/mysql/mariadb.conf.d/60-flasky.cnf").content_string
    assert "no_such_setting" not in conf and "lots" not in conf and "maybe" not in conf


def test_retention_keeps_the_dumps_a_rollback_needs(host):
    """Scheduled and manual dumps go after the retention days; pre-upgrade dumps
    (from-<release>-to-<release>) stay by count, the newest five (flask_app_keep_releases' default)
    whatever their age."""
    old = "-d '40 days ago'"
    names = {"scheduled": "flasky-20200101T000000.000Z.sql.gz", "manual": "flasky-20200109T000000.000Z-manual.sql.gz"}
    names.update({f"labeled{i}": f"flasky-2020010{i}T000000.000Z-from-0.{i}-to-0.{i + 1}.sql.gz" for i in range(1, 8)})
    for name in names.values():
        assert host.run(f"touch {old} /var/backups/mysql/flasky/{name}").rc == 0
    out = host.run("systemctl start flasky-mysql-backup.service")
    assert out.rc == 0, out.stderr
    left = {key for key, name in names.items() if host.file(f"/var/backups/mysql/flasky/{name}").exists}
    assert left == {"labeled3", "labeled4", "labeled5", "labeled6", "labeled7"}
