"""What users of the mysql role see: a private MariaDB, password auth, working backups."""

APP = "MYSQL_PWD={pw} mariadb -h 127.0.0.1 -u {user} flasky -N -e {sql!r}"


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


def test_listens_on_loopback_only(host):
    lines = [line.split() for line in host.run("ss -ltnH").stdout.splitlines() if line.strip()]
    addrs = [f[3] for f in lines if f[3].endswith(":3306")]
    assert addrs and all(a.startswith("127.0.0.1:") for a in addrs), addrs


def test_restore_brought_the_rows_back(host):
    out = app_sql(host, "SELECT COUNT(*) FROM probe")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "1234"


def test_backup_is_verified_and_private(host):
    path = host.file("/root/molecule-backup-path").content_string.strip()
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
