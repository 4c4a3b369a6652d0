#!/usr/bin/env python3
"""Constant HTTP(S) load that counts every failed request, for rolling upgrades and benchmarks.

    loadgen.py URL [--cafile CA] [--host-header NAME] [--header 'NAME: VALUE' ...]
               [--connections 8] [--duration 0] [--rate 0] [--stop-file PATH] [--out result.json]

A `--header 'Cookie: x=1'` makes every request personal, so nginx's page cache
(nginx_microcache_seconds) passes it to the app: the load then measures the app servers.

Runs until --duration seconds pass, or until SIGTERM / SIGINT or --stop-file exists (duration
0), then prints (and
writes to --out) one JSON document: requests, failed (a status other than 2xx/3xx, or a socket
error), latency percentiles, requests per second, and the failures themselves.

Keep-alive like a browser: a request on a REUSED connection that the server closed before
sending a single byte (an idle connection closed by an nginx reload, RFC 9112 9.3.1) is
retried once on a new connection and counted under `stale_retries`, not as a failure. A
failure on a new connection, a timeout, or an error after the response began always counts.
"""

import argparse
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit


class Worker(threading.Thread):
    def __init__(self, args, stop, sslctx):
        super().__init__(daemon=True)
        self.args, self.stop, self.sslctx = args, stop, sslctx
        u = urlsplit(args.url)
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port or (443 if u.scheme == "https" else 80)
        self.path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        self.headers = {"Host": args.host_header or u.netloc, "User-Agent": "flasky-loadgen"}
        self.headers.update(h.split(": ", 1) for h in args.header)
        self.conn = None
        self.latencies, self.failures, self.statuses = [], [], {}
        self.stale_retries = 0
        self.per_second = {}
        self.interval = (args.connections / args.rate) if args.rate else 0

    def connect(self):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.args.timeout,
                                               context=self.sslctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.args.timeout)

    def one(self):
        reused = self.conn is not None
        if self.conn is None:
            self.conn = self.connect()
        self.conn.request("GET", self.path, headers=self.headers)
        resp = self.conn.getresponse()
        resp.read()
        if resp.will_close:
            self.conn.close()
            self.conn = None
        return resp.status, reused

    def run(self):
        next_at = time.monotonic()
        while not self.stop.is_set():
            if self.interval:
                next_at += self.interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            start = time.monotonic()
            status, error = None, None
            for attempt in (1, 2):
                reused = self.conn is not None
                try:
                    status, _ = self.one()
                    break
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                    if self.conn is not None:
                        self.conn.close()
                    self.conn = None
                    if reused and attempt == 1 and not isinstance(exc, http.client.IncompleteRead):
                        self.stale_retries += 1
                        continue
                    error = f"{type(exc).__name__}: {exc}"
                    break
                except Exception as exc:  # noqa: BLE001 - every error is a failed request
                    if self.conn is not None:
                        self.conn.close()
                    self.conn = None
                    error = f"{type(exc).__name__}: {exc}"
                    break
            end = time.monotonic()
            second = int(time.time())
            self.per_second[second] = self.per_second.get(second, 0) + 1
            self.latencies.append((end - start, second))
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if error or status is None or not 200 <= status < 400:
                self.failures.append({"at": round(time.time(), 3), "status": status, "error": error})
                if error:
                    time.sleep(0.05)  # do not spin on a refused connection


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--cafile", help="trust this CA (default: the system's)")
    ap.add_argument("--insecure", action="store_true", help="do not verify the certificate")
    ap.add_argument("--host-header", help="Host header (and TLS server name) to send")
    ap.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="send this header too (repeatable); e.g. a Cookie, so that a page cache is bypassed")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--duration", type=float, default=0, help="seconds; 0 = until SIGTERM/SIGINT")
    ap.add_argument("--rate", type=float, default=0, help="requests per second in all; 0 = as fast as possible")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--stop-file", help="stop when this file exists")
    ap.add_argument("--out", help="also write the JSON result here")
    args = ap.parse_args(argv)

    sslctx = ssl.create_default_context(cafile=args.cafile)
    if args.insecure:
        sslctx.check_hostname = False
        sslctx.verify_mode = ssl.CERT_NONE
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    workers = [Worker(args, stop, sslctx) for _ in range(args.connections)]
    started = time.monotonic()
    for w in workers:
        w.start()
    if args.duration:
        stop.wait(args.duration)
        stop.set()
    else:
        while not stop.is_set():
            stop.wait(0.2)
            if args.stop_file and os.path.exists(args.stop_file):
                stop.set()
    for w in workers:
        w.join(timeout=args.timeout + 1)
    elapsed = time.monotonic() - started

    latencies = sorted(lat for w in workers for lat, _ in w.latencies)
    by_second = {}
    for w in workers:
        for lat, sec in w.latencies:
            by_second.setdefault(sec, []).append(lat)
    statuses = {}
    for w in workers:
        for k, v in w.statuses.items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    failures = sorted((f for w in workers for f in w.failures), key=lambda f: f["at"])
    ms = lambda v: None if v is None else round(v * 1000, 2)  # noqa: E731
    result = {
        "url": args.url,
        "connections": args.connections,
        "rate": args.rate,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "failed": len(failures),
        "stale_retries": sum(w.stale_retries for w in workers),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0,
        "latency_ms": {"p50": ms(percentile(latencies, 50)), "p90": ms(percentile(latencies, 90)),
                       "p99": ms(percentile(latencies, 99)), "max": ms(latencies[-1] if latencies else None)},
        "statuses": statuses,
        "per_second": [{"t": sec, "requests": len(v), "p99_ms": ms(percentile(sorted(v), 99))}
                       for sec, v in sorted(by_second.items())],
        "failures": failures[:50],
    }
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_second"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
