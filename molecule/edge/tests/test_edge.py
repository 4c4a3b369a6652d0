"""What the edge roles promise, checked with real peers: mail delivered through the relay,
log lines received (also after a log-host outage), only intended ports reachable, sshd
hardened (the Lynis index of these roles is the cluster's test: every lab host, Debian 12
and 13, against an untouched container of its image)."""

import base64
import os
import pathlib
import re
import time
import uuid

import pytest
import testinfra

testinfra_hosts = ["ansible://edge_hosts"]


@pytest.fixture(scope="module")
def relay(request):
    return testinfra.get_host("ansible://edge-relay", ansible_inventory=request.config.option.ansible_inventory)


@pytest.fixture(scope="module")
def plain(request):
    return testinfra.get_host("ansible://edge-plain", ansible_inventory=request.config.option.ansible_inventory)


def wait_for(check, timeout=60, step=1.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step)


def hostname(host):
    return host.run("hostname").stdout.strip()


# --- postfix -------------------------------------------------------------------------------

def test_postfix_listens_on_loopback_only(host):
    listening = [line.split()[3] for line in host.run("ss -ltnH").stdout.splitlines() if line.strip()]
    smtp = [a for a in listening if a.endswith(":25")]
    assert smtp and all(a.startswith(("127.0.0.1:", "[::1]:")) for a in smtp), listening


def test_relay_credentials_are_private(host):
    for path in ("/etc/postfix/sasl_passwd", "/etc/postfix/sasl_passwd.db"):
        f = host.file(path)
        assert f.exists and f.user == "root" and f.mode == 0o600, path


def test_mail_like_the_app_sends_it_is_delivered_through_the_relay(host, relay):
    subject = f"molecule {uuid.uuid4().hex}"
    script = ("import smtplib; from email.message import EmailMessage; m = EmailMessage(); "
              f"m['From'] = 'flasky@{hostname(host)}'; m['To'] = 'inbox@relay.test'; m['Subject'] = '{subject}'; "
              "m.set_content('hello'); s = smtplib.SMTP('localhost', 25); s.send_message(m); s.quit()")
    assert host.run(f'python3 -c "{script}"').rc == 0
    found = wait_for(lambda: relay.run(f"grep -rl '{subject}' /home/inbox/Maildir/new").stdout.strip())
    assert found, host.run("journalctl -u postfix@- --no-pager -n 30").stdout
    mail = relay.file(found.splitlines()[0]).content_string
    # It came over TLS with SASL authentication on submission, from this host's myhostname.
    assert re.search(r"with ESMTPS?A", mail), mail[:800]
    myhostname = host.run("postconf -h myhostname").stdout.strip()
    assert "." in myhostname and f"from {myhostname} (" in mail, mail[:800]


def send_mail(host, subject):
    assert host.run(f"printf 'Subject: {subject}\\n\\nrelay check\\n' | /usr/sbin/sendmail inbox@relay.test").rc == 0


def copy_from_controller(host, source, dest):
    """A file prepare.yml made on the controller (under the ephemeral directory), written to the host."""
    data = base64.b64encode((pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / source).read_bytes()).decode()
    assert host.run(f"echo {data} | base64 -d > {dest}").rc == 0


def serve_relay_certificate(relay, ca_name):
    """Make the catcher serve the relay.test certificate made by `ca_name` (prepare.yml made two)."""
    for name in ("relay.crt", "relay.key"):
        copy_from_controller(relay, f"{ca_name}/{name}", f"/etc/postfix/{name}")
    # no TLS session of the other certificate may be resumed
    out = relay.run("systemctl stop postfix && rm -f /var/lib/postfix/smtpd_scache.db && systemctl start postfix")
    assert out.rc == 0, out.stderr


def test_relay_login_is_not_attempted_with_a_certificate_from_another_ca(host, relay):
    """The relay's certificate must chain to the CA the site trusts (postfix_relayhost_ca_cert) and
    carry the relay's name before the password goes out; until then the mail waits in the queue."""
    subject = f"other CA {uuid.uuid4().hex}"
    serve_relay_certificate(relay, "other-ca")
    try:
        assert host.run("systemctl stop postfix && rm -f /var/lib/postfix/smtp_scache.db "
                        "&& systemctl start postfix").rc == 0
        # logins are counted from the next second on: the test before this one logged in (its own mail)
        # shortly before, possibly within the same second
        time.sleep(1.1)
        since = relay.run("date +%s").stdout.strip()
        send_mail(host, subject)
        reason = wait_for(lambda: re.search(r"certificate (not verified|verification failed)|untrusted",
                                            host.run("mailq").stdout, re.I), 60)
        assert reason, host.run("mailq").stdout
        assert not relay.run(f"grep -rl '{subject}' /home/inbox/Maildir/new").stdout.strip()
        logins = relay.run(f"journalctl --since @{since} --no-pager | grep -c sasl_username || true").stdout
        assert logins.strip() == "0", "the relay saw a login"
    finally:
        serve_relay_certificate(relay, "relay-ca")
    # trusted again: the queued mail goes out
    assert host.run("postqueue -f").rc == 0
    assert wait_for(lambda: relay.run(f"grep -rl '{subject}' /home/inbox/Maildir/new").stdout.strip(), 90)


def test_root_mail_goes_to_the_alias(host, relay):
    subject = f"root {uuid.uuid4().hex}"
    assert host.run(f"printf 'Subject: {subject}\\n\\nfor root\\n' | /usr/sbin/sendmail root").rc == 0
    assert wait_for(lambda: relay.run(f"grep -rl '{subject}' /home/inbox/Maildir/new").stdout.strip())


# --- syslog --------------------------------------------------------------------------------

def test_app_log_line_reaches_the_app_file_and_the_log_host(host, relay):
    line = f"app-line-{uuid.uuid4().hex}"
    assert host.run(f"logger -t flasky {line}").rc == 0
    assert wait_for(lambda: line in host.file("/var/log/flasky/app.log").content_string, 10)
    remote = f"/var/log/remote/{hostname(host)}/flasky.log"
    assert wait_for(lambda: relay.file(remote).exists and line in relay.file(remote).content_string, 90)


def test_lines_written_during_a_log_host_outage_arrive_after_it(host, relay):
    marker = uuid.uuid4().hex[:8]
    lines = [f"outage-{marker}-{i}" for i in range(10)]
    assert relay.run("systemctl stop rsyslog").rc == 0
    try:
        for line in lines:
            host.run(f"logger -t flasky {line}")
            time.sleep(0.2)
        time.sleep(3)
    finally:
        assert relay.run("systemctl start rsyslog").rc == 0
    remote = f"/var/log/remote/{hostname(host)}/flasky.log"
    arrived = wait_for(lambda: all(line in relay.file(remote).content_string for line in lines), 90)
    missing = [line for line in lines if line not in relay.file(remote).content_string]
    assert arrived and not missing, missing


def put_identity(host, ca_dir, name):
    """A certificate and key made on the controller (prepare.yml), copied to /tmp on the host."""
    files = {ext: f"/tmp/{ca_dir}-{name}.{ext}" for ext in ("crt", "key")}
    for ext, dest in files.items():
        copy_from_controller(host, f"{ca_dir}/hosts/{name}.{ext}", dest)
        assert host.run(f"chmod 600 {dest}").rc == 0
    return files


def send_syslog_tls(host, line, cert, key):
    """One RFC 5424 line to the log host over TLS with this certificate (openssl, not rsyslog)."""
    return host.run(f"(printf '%s\\n' {line!r}; sleep 2) | timeout 10 openssl s_client -quiet -connect relay.test:6514 "
                    f"-cert {cert} -key {key} -CAfile /etc/rsyslog.d/tls/ca.crt -verify_return_error")


def test_log_host_takes_only_the_inventory_hosts_certificates_and_sanitises_their_names(host, relay):
    """Plain TCP, a certificate for the right name from another CA, and one of the site's CA for a name
    that is not a sender are refused; the host's own certificate is taken, and the HOSTNAME it sends
    (../../etc/...) stays one directory under the remote-log directory."""
    marker = uuid.uuid4().hex[:10]
    me = hostname(host)
    # plain TCP: no TLS handshake, nothing taken
    plain = f"<14>1 2026-11-26T00:00:00Z forged-{marker} flasky - - - plain-{marker}"
    host.run(f"timeout 5 bash -c 'printf \"%s\\n\" {plain!r} > /dev/tcp/relay.test/6514'")
    other = put_identity(host, "other-internal-ca", me)
    send_syslog_tls(host, f"<14>1 2026-11-26T00:00:00Z {me} flasky - - - otherca-{marker}", other["crt"], other["key"])
    wrong = put_identity(host, "internal-ca", "edge-relay")
    send_syslog_tls(host, f"<14>1 2026-11-26T00:00:00Z {me} flasky - - - notpeer-{marker}", wrong["crt"], wrong["key"])
    # the control: the same client with this host's own certificate is taken
    own = send_syslog_tls(host, f"<14>1 2026-11-26T00:00:00Z ../../etc/flasky-{marker} flasky - - - own-{marker}",
                          "/etc/rsyslog.d/tls/host.crt", "/etc/rsyslog.d/tls/host.key")
    assert wait_for(lambda: relay.run(f"grep -rl own-{marker} /var/log/remote").stdout.strip(), 30), own.stderr
    found = relay.run(f"grep -rl own-{marker} /var/log/remote").stdout.split()
    assert all(path.count("/") == 5 and path.startswith("/var/log/remote/") for path in found), found
    assert not relay.file(f"/etc/flasky-{marker}").exists
    outside = relay.run(f"find / -xdev \\( -path /proc -o -path /var/log/remote \\) -prune "
                        f"-o -name '*flasky-{marker}*' -print")
    assert outside.stdout.strip() == "", outside.stdout
    for refused in ("plain", "otherca", "notpeer"):
        assert relay.run(f"grep -rl {refused}-{marker} /var/log/remote").stdout.strip() == "", refused
    assert not relay.file(f"/var/log/remote/forged-{marker}").exists


def test_a_sender_cannot_write_into_another_senders_directory(host, relay):
    """The directory is named after the address the connection comes from: a line claiming to be
    the log host itself (HOSTNAME edge-relay) lands in this host's own directory."""
    marker = uuid.uuid4().hex[:10]
    send_syslog_tls(host, f"<14>1 2026-11-26T00:00:00Z edge-relay flasky - - - impostor-{marker}",
                    "/etc/rsyslog.d/tls/host.crt", "/etc/rsyslog.d/tls/host.key")
    assert wait_for(lambda: relay.run(f"grep -rl impostor-{marker} /var/log/remote").stdout.strip(), 30)
    found = relay.run(f"grep -rl impostor-{marker} /var/log/remote").stdout.split()
    assert found == [f"/var/log/remote/{hostname(host)}/flasky.log"], found


def test_a_sender_over_its_quota_has_its_new_lines_dropped_until_it_is_under(host, relay):
    """The quota script, run with a quota of one byte, puts this sender on rsyslog's table: its next
    line is dropped (what it wrote before stays) and the log host's log says why; run with the
    configured quota, the sender is taken off and its lines arrive again."""
    me, marker = hostname(host), uuid.uuid4().hex[:10]
    remote = f"/var/log/remote/{me}/flasky.log"
    before = relay.file(remote).size
    assert relay.run("systemctl stop flasky-syslog-quota.timer").rc == 0  # no run of its own meanwhile
    blocked = relay.run("QUOTA_BYTES=1 /usr/local/sbin/flasky-syslog-quota")
    try:
        assert blocked.rc == 0 and me in blocked.stdout, blocked
        time.sleep(2)  # rsyslog reloads the table on the HUP
        assert host.run(f"logger -t flasky dropped-{marker}").rc == 0
        time.sleep(8)
        assert f"dropped-{marker}" not in relay.file(remote).content_string
        assert relay.file(remote).size >= before  # nothing already written is removed
        note = relay.run("journalctl -q -t flasky-syslog-quota --no-pager").stdout
        assert f"sender {me} is over its quota" in note, note[-500:]
    finally:
        released = relay.run("/usr/local/sbin/flasky-syslog-quota")
        relay.run("systemctl start flasky-syslog-quota.timer")
    assert released.rc == 0 and "over quota: none" in released.stdout, released
    assert relay.service("flasky-syslog-quota.timer").is_running
    time.sleep(2)
    assert host.run(f"logger -t flasky kept-{marker}").rc == 0
    assert wait_for(lambda: f"kept-{marker}" in relay.file(remote).content_string, 30)


def test_log_lines_travel_over_tls_only(host, relay):
    """The host's rsyslog holds a connection to the log host's TLS port, and no plain listener is left."""
    assert wait_for(lambda: ":6514" in host.run("ss -Htn state established '( dport = :6514 )'").stdout, 30)
    assert relay.run("ss -Htln '( sport = :514 )'").stdout.strip() == ""
    handshake = host.run("timeout 5 openssl s_client -connect relay.test:6514 -CAfile /etc/rsyslog.d/tls/ca.crt "
                         "-verify_return_error -brief </dev/null")
    assert "edge-relay" in handshake.stdout + handshake.stderr


def test_rotation_policies(host):
    assert "/var/log/flasky/*.log" in host.file("/etc/logrotate.d/flasky").content_string
    assert host.run("logrotate --debug /etc/logrotate.d/flasky").rc == 0


# --- firewall ------------------------------------------------------------------------------

def ssh_port(host):
    return int(host.ansible.get_variables().get("hardening_ssh_port", 22))


def test_only_intended_ports_are_reachable_from_the_relay(host, relay):
    target, ssh = hostname(host), ssh_port(host)
    other_ssh = 2222 if ssh == 22 else 22
    out = relay.run(f"nmap -Pn -n -p {ssh},{other_ssh},25,443,5432,8000,9999 {target}")
    assert out.rc == 0, out.stderr
    states = dict(re.findall(r"^(\d+)/tcp\s+(\S+)", out.stdout, re.M))
    print(f"\nnmap from edge-relay to {target}: {states}")
    assert states == {
        str(ssh): "open",    # sshd on its (custom) port, rate limited
        str(other_ssh): "filtered",
        "25": "filtered",    # send-only MTA: loopback only, and dropped
        "443": "closed",     # allowed for everyone (nothing listens in this scenario)
        "5432": "closed",    # allowed from the relay's group
        "8000": "filtered",  # allowed only from edge_hosts, not from the relay
        "9999": "filtered",  # default deny
    }, out.stdout


def can_connect(src, address, port):
    family = "socket.AF_INET6" if ":" in address else "socket.AF_INET"
    out = src.run(f"python3 -c \"import socket; s = socket.socket({family}); s.settimeout(3); "
                  f"s.connect(('{address}', {port}))\"")
    return out.rc == 0


def test_ssh_from_allowed_addresses_only_over_ipv4_and_ipv6(host, relay, plain):
    """The host takes SSH from the relay's addresses only (firewall_ssh_from): the IPv6 rule
    follows the list too (a dual-stack network: the other container is refused over both families)."""
    assert host.ansible.get_variables().get("firewall_ssh_from"), "firewall_ssh_from is set on every edge host"
    v4, port = host.interface("eth0").addresses, ssh_port(host)
    v6 = [a for a in v4 if ":" in a and not a.startswith("fe80")]
    v4 = [a for a in v4 if ":" not in a]
    assert v4 and v6, host.interface("eth0").addresses
    assert can_connect(relay, v4[0], port) and can_connect(relay, v6[0], port)
    assert not can_connect(plain, v4[0], port) and not can_connect(plain, v6[0], port)


def test_ruleset_is_in_place_and_persistent(host):
    assert host.run("nft list table inet flasky_firewall").rc == 0
    assert host.service("nftables").is_enabled


# --- hardening -----------------------------------------------------------------------------

def test_sshd_effective_settings(host):
    effective = dict(line.split(" ", 1) for line in host.run("sshd -T").stdout.splitlines() if " " in line)
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] in ("without-password", "prohibit-password")
    assert effective["maxauthtries"] == "3"
    assert effective["maxsessions"] == "2" and effective["tcpkeepalive"] == "no"
    assert effective["compression"] == "no"
    assert effective["banner"] == "/etc/issue.net"
    assert "monitored" in host.file("/etc/issue.net").content_string
    assert effective["port"] == str(ssh_port(host))
    assert "curve25519-sha256" in effective["kexalgorithms"]
    offered = ",".join(effective[k] for k in ("ciphers", "macs", "kexalgorithms")).split(",")
    weak = [a for a in offered if re.search(r"cbc|-sha1$|hmac-sha1|umac-64|md5|diffie-hellman-group(1|14)-", a)]
    assert not weak, weak


def test_fail2ban_watches_sshd_on_its_port(host):
    assert host.run("fail2ban-client status sshd").rc == 0
    # The jail's ban action (started on the first ban) is set up for the sshd port.
    dump = host.run("fail2ban-client -d").stdout
    port = ssh_port(host)
    assert re.search(rf"\['multi-set', 'sshd', 'action', 'nftables[^']*',.*\['port', '{port}'\]", dump), dump[-500:]


def test_unattended_upgrades_security_only(host):
    dump = host.run("apt-config dump").stdout
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    origins = re.findall(r'Unattended-Upgrade::Origins-Pattern:: "([^"]+)"', dump)
    assert origins and all("security" in o.lower() for o in origins), origins


def test_security_updates_come_from_the_security_suite(host):
    # The image's sources (debootstrap's) name no security suite: the base role added it, so
    # unattended-upgrades has something to install.
    codename = host.system_info.codename
    policy = host.run("apt-cache policy").stdout
    assert f"{codename}-security" in policy, policy[-1500:]


def test_login_shells_time_out_and_dump_no_core(host):
    out = host.run("bash -lc 'echo $TMOUT; ulimit -c; TMOUT=0 && echo changed'")
    lines = out.stdout.split()
    assert lines[:2] == ["900", "0"], out.stdout
    assert "changed" not in lines and "readonly" in out.stderr, out.stderr
    assert host.run("systemd-analyze cat-config systemd/coredump.conf").stdout.count("Storage=none") == 1
    limits = host.file("/etc/security/limits.d/60-flasky-core.conf").content_string
    assert re.search(r"^\*\s+hard\s+core\s+0$", limits, re.M), limits


def test_installed_packages_verify_and_are_checked_weekly(host):
    # debsums: every file of these packages matches its package's checksums, and the weekly
    # check is on; then a package file changed on purpose is reported.
    assert host.run("debsums -s openssh-server fail2ban").rc == 0
    assert "CRON_CHECK=weekly" in host.file("/etc/default/debsums").content_string
    tampered = host.run("cp -p /usr/bin/fail2ban-client /root/f2b.orig && echo '# x' >> /usr/bin/fail2ban-client && "
                        "debsums -s fail2ban; rc=$?; cp -p /root/f2b.orig /usr/bin/fail2ban-client; exit $rc")
    assert tampered.rc != 0 and "/usr/bin/fail2ban-client" in tampered.stdout + tampered.stderr, tampered
    assert host.service("sysstat").is_enabled


def test_sysctl_hardening_file(host):
    content = host.file("/etc/sysctl.d/60-hardening.conf").content_string
    assert "net.ipv4.conf.all.accept_redirects = 0" in content and "net.ipv4.tcp_syncookies = 1" in content
