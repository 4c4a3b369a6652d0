#!/usr/bin/env python3
"""Register a user through the site's web form (CSRF token, POST), as a browser would.

    register.py URL CAFILE USERNAME   -> exit 0 when the site answered 302 (registered)
"""
import re
import sys

import requests


def main(url, cafile, name):
    with requests.Session() as s:
        # verify per request: REQUESTS_CA_BUNDLE in the environment would override s.verify
        form = s.get(url + "auth/register", timeout=20, verify=cafile)
        form.raise_for_status()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text)
        if not token:
            raise SystemExit("no CSRF token in the registration form")
        answer = s.post(url + "auth/register", allow_redirects=False, timeout=20, verify=cafile,
                        headers={"Referer": url + "auth/register"},
                        data={"csrf_token": token.group(1), "email": f"{name}@mail.lab.example.org",
                              "username": name, "password": "correct horse battery",
                              "password2": "correct horse battery"})
        if answer.status_code != 302:
            raise SystemExit(f"registration of {name} answered {answer.status_code}: {answer.text[:300]}")
    print(name)


if __name__ == "__main__":
    main(*sys.argv[1:4])
