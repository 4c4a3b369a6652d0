#!/usr/bin/env python3
"""Try, twice a second until STOPFILE exists, to connect to ports that must never be reachable
from outside the site (here: from the mail catcher, a container on the lab network that is not
one of the site's hosts), and write every success to OUT as JSON lines.

    port_watch.py STOPFILE OUT host:port [host:port ...]
"""

import json
import os
import socket
import sys
import time


def main(stopfile, out, targets):
    rounds = 0
    with open(out, "w", encoding="utf-8") as record:
        while not os.path.exists(stopfile):
            for target in targets:
                host, port = target.rsplit(":", 1)
                try:
                    with socket.create_connection((host, int(port)), timeout=0.4):
                        record.write(json.dumps({"time": time.time(), "reached": target}) + "\n")
                        record.flush()
                except OSError:
                    pass
            rounds += 1
            time.sleep(0.5)
        record.write(json.dumps({"time": time.time(), "rounds": rounds}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
