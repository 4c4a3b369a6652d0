"""What users of the postgresql role see: a private server, password auth, working backups."""

import json

testinfra_hosts = ["ansible://role_hosts"]  # the role alone

APP = "PGPASSWORD={pw} psql -h {host} -U {user} -d flasky -v ON_ERROR_STOP=1 -qtA -c {sql!r}"


def app_sql(host, sql, pw="app-password-from-vault", user="flasky", address="127.0.0.1"):
    return host.run(APP.format(pw=pw, user=user, host=address, sql=sql))


def superuser_sql(host, sql):
    with host.sudo("postgres"):
        out = host.run(f"psql -qtA -c {sql!r}")
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def test_service_running(host):
    version = host.run("ls /etc/postgresql").stdout.split()
    assert version in (["15"], ["17"])  # the distribution's: Debian 12, Debian 13
    assert host.service(f"postgresql@{version[0]}-main").is_running


def test_app_user_connects_over_tcp_and_creates_a_table(host):
    out = app_sql(host, "CREATE TABLE IF NOT EXISTS t_verify (id int); INSERT INTO t_verify VALUES (1); "
                        "SELECT count(*) > 0 FROM t_verify;")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "t"


def test_wrong_password_is_refused(host):
    out = app_sql(host, "SELECT 1", pw="wrong-password")
    assert out.rc != 0 and "password authentication failed" in out.stderr


def test_unknown_user_is_refused(host):
    out = app_sql(host, "SELECT 1", user="intruder")
    assert out.rc != 0 and "password authentication failed" in out.stderr


def test_only_scram_passwords_and_no_trust(host):
    assert superuser_sql(host, "SHOW password_encryption") == "scram-sha-256"
    assert superuser_sql(host, "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid "
                               "WHERE rolname = 'flasky'") == "t"
    methods = superuser_sql(host, "SELECT DISTINCT auth_method FROM pg_hba_file_rules").split()
    assert set(methods) <= {"peer", "scram-sha-256"}, methods


def test_listens_on_loopback_only(host):
    listening = host.run("ss -ltnH").stdout.split("\n")
    pg = [line.split()[3] for line in listening if line.strip() and line.split()[3].endswith(":5432")]
    assert pg, listening
    assert all(a.startswith(("127.0.0.1:", "[::1]:")) for a in pg), pg


def test_restore_brought_the_rows_back_and_the_dumps_schema(host):
    out = app_sql(host, "SELECT count(*) FROM probe")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "1234"
    # what the later release's migration created is gone: columns, tables, indexes
    columns = app_sql(host, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) "
                            "FROM information_schema.columns WHERE table_name = 'probe'")
    assert columns.stdout.strip() == "id,v", columns.stdout
    tables = app_sql(host, "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")
    # (t_verify is made by the test above, after the restore)
    assert set(tables.stdout.strip().split(",")) - {"t_verify"} == {"probe", "probe_pkey"}, tables.stdout


def test_restore_ran_as_the_owner_not_a_superuser(host):
    restored_as = host.file("/root/molecule-backup-path").content_string.split("\n")[1]
    assert restored_as == "flasky"
    assert superuser_sql(host, "SELECT rolsuper FROM pg_roles WHERE rolname = 'flasky'") == "f"


def test_backup_is_verified_and_private(host):
    path = host.file("/root/molecule-backup-path").content_string.split("\n")[0]
    dump = host.file(path)
    assert dump.exists and dump.size > 0
    assert dump.user == "postgres" and dump.mode == 0o600
    assert host.file("/var/backups/postgresql").mode == 0o700
    with host.sudo("postgres"):
        assert "TABLE DATA public probe" in host.run(f"pg_restore --list {path}").stdout


def test_backup_timer_scheduled_and_service_works(host):
    assert host.service("flasky-postgresql-backup.timer").is_enabled
    assert host.run("systemctl is-active flasky-postgresql-backup.timer").stdout.strip() == "active"
    out = host.run("systemctl start flasky-postgresql-backup.service")
    assert out.rc == 0, host.run("journalctl -u flasky-postgresql-backup --no-pager -n 20").stdout
    assert int(host.run("ls /var/backups/postgresql/flasky/*.dump | wc -l").stdout) >= 2


def test_reload_only_setting_is_live_without_restart(host):
    before, after = host.file("/root/molecule-reload-start-times").content_string.split("\n")[:2]
    assert before == after, "work_mem changed: the server must reload, not restart"
    assert superuser_sql(host, "SHOW work_mem") == "24MB"


def test_restart_only_setting_restarted_and_is_live(host):
    reload_start = host.file("/root/molecule-reload-start-times").content_string.split("\n")[1]
    restart_start = host.file("/root/molecule-restart-start-time").content_string.strip()
    assert restart_start != reload_start, "shared_buffers changed: the server must restart"
    assert superuser_sql(host, "SHOW shared_buffers") == "192MB"
    assert superuser_sql(host, "SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"


def test_memory_defaults_derive_from_ram(host):
    conf = host.run("cat /etc/postgresql/*/main/conf.d/50-flasky.conf").stdout
    ram = int(host.run("awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo").stdout)
    assert f"effective_cache_size = {ram * 3 // 4}MB" in conf


def test_refused_settings_fail_before_any_restart(host):
    record = json.loads(host.file("/root/molecule-refused.json").content_string)
    refused = record["refused"]
    assert "postgresql_port" in refused["port"], refused
    # the server's own words, naming the setting
    assert 'unrecognized configuration parameter "no_such_setting"' in refused["unknown"], refused
    assert '"work_mem"' in refused["value"], refused
    assert '"max_wal_senders"' in refused["range"], refused
    assert all("nothing was changed" in refused[case] for case in ("unknown", "value", "range")), refused
    # same start time (no restart, no crash) and the same settings file
    assert record["before"] == record["after"]
    conf = host.run("cat /etc/postgresql/*/main/conf.d/50-flasky.conf").stdout
    assert "no_such_setting" not in conf and "lots" not in conf


def test_retention_keeps_the_dumps_a_rollback_needs(host):
    """Scheduled and manual dumps go after the retention days; pre-upgrade dumps
    (from-<release>-to-<release>) stay by count, the newest five (flask_app_keep_releases' default)
    whatever their age."""
    old = "-d '40 days ago'"
    names = {"scheduled": "flasky-20200101T000000.000Z.dump", "manual": "flasky-20200109T000000.000Z-manual.dump"}
    names.update({f"labeled{i}": f"flasky-2020010{i}T000000.000Z-from-0.{i}-to-0.{i + 1}.dump" for i in range(1, 8)})
    for name in names.values():
        assert host.run(f"touch {old} /var/backups/postgresql/flasky/{name}").rc == 0
    out = host.run("systemctl start flasky-postgresql-backup.service")
    assert out.rc == 0, out.stderr
    left = {key for key, name in names.items() if host.file(f"/var/backups/postgresql/flasky/{name}").exists}
    assert left == {"labeled3", "labeled4", "labeled5", "labeled6", "labeled7"}


def test_restore_drill_reports_and_fails_on_a_difference(host):
    record = json.loads(host.file("/root/molecule-drill.json").content_string)
    drill = record["drill"]
    print(f"\ndrill: {drill}")
    assert drill["differences"] == [], drill
    # probe, and drill_writes with the rows committed when the dump's snapshot was taken
    assert int(drill["tables"]) >= 2 and int(drill["rows"]) >= 1234, drill
    assert drill["restored_as"] == "flasky"
    assert float(drill["restore_seconds"]) > 0 and int(drill["dump_age_seconds"]) >= 0
    assert "public.ghost|1|" in record["tampered"], record["tampered"]
    assert superuser_sql(host, "SELECT count(*) FROM pg_database WHERE datname = 'flasky_drill'") == "0"
