"""Pages render fully from the server: no asset or link points at another host."""

import re

import pytest

from flasky import db
from flasky.models import Comment, Post, User

URL_ATTR = re.compile(r"""(?:src|href|action|content)\s*=\s*["']([^"']+)["']""", re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


@pytest.fixture
def admin_client(client, app):
    with app.app_context():
        admin = User(email=app.config["FLASKY_ADMIN"], username="boss", password="admin-password",
                     confirmed=True)
        db.session.add(admin)
        db.session.commit()
        post = Post(body="first post", author=admin)
        db.session.add(post)
        db.session.add(Comment(body="a comment", post=post, author=admin))
        db.session.commit()
    client.post("/auth/login", data={"email": app.config["FLASKY_ADMIN"], "password": "admin-password"})
    return client


PAGES = ["/", "/user/boss", "/post/1", "/edit/1", "/edit-profile", "/edit-profile/1", "/followers/boss",
         "/followed_by/boss", "/moderate", "/auth/change-password", "/no-such-page"]
ANON_PAGES = ["/", "/auth/login", "/auth/register", "/auth/reset", "/user/boss", "/post/1"]


def external_refs(html):
    refs = URL_ATTR.findall(html) + CSS_URL.findall(html)
    return [r for r in refs if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", r, re.I) and not r.startswith("mailto:")]


def test_logged_in_pages_reference_no_external_host(admin_client):
    for page in PAGES:
        resp = admin_client.get(page)
        assert resp.status_code in (200, 404), (page, resp.status_code)
        html = resp.get_data(as_text=True)
        assert "<html" in html
        assert external_refs(html) == [], page
        assert "<script" not in html and "style=" not in html, f"{page}: inline code breaks the CSP"


def test_anonymous_pages_reference_no_external_host(admin_client, app):
    anon = app.test_client()
    for page in ANON_PAGES:
        html = anon.get(page).get_data(as_text=True)
        assert external_refs(html) == [], page


def test_stylesheet_is_served_by_the_app_itself(client):
    resp = client.get("/static/style.css")
    assert resp.status_code == 200 and b"navbar" in resp.data
    assert external_refs(resp.get_data(as_text=True)) == []


def test_detector_catches_external_references():
    assert external_refs('<script src="https://cdn.example.com/x.js"></script>') == ["https://cdn.example.com/x.js"]
    assert external_refs('<link href="//fonts.example.com/f.css">') == ["//fonts.example.com/f.css"]
    assert external_refs('<a href="/local">x</a>') == []
