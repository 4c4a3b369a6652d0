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


def test_a_page_of_posts_is_a_fixed_number_of_queries(deployed, runner):
    """No query per post (author, comment count): the page costs the same with 20 posts as with 2."""
    from sqlalchemy import event

    def queries_for(path):
        seen = []
        with deployed.app_context():
            engine = db.engine
            listener = lambda *args: seen.append(args[2])  # noqa: E731 (statement)
            event.listen(engine, "before_cursor_execute", listener)
            try:
                response = deployed.test_client().get(path)
            finally:
                event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return response, seen

    runner.invoke(args=["seed", "--users", "2", "--posts", "2"])
    _, few = queries_for("/")
    runner.invoke(args=["seed", "--users", "30", "--posts", "300"])
    with deployed.app_context():
        post = db.session.scalars(db.select(Post).order_by(Post.timestamp.desc(), Post.id.desc())).first()
        db.session.add_all([Comment(body="one", post=post), Comment(body="two", post=post)])
        db.session.commit()
    response, many = queries_for("/")
    assert len(many) == len(few) <= 3, many
    assert response.text.count('class="post"') == deployed.config["FLASKY_POSTS_PER_PAGE"]
    assert "2 Comments" in response.text


def test_anonymous_reading_sets_no_cookie(deployed, runner):
    """Pages a visitor only reads set no cookie: nginx may cache them, nobody is tracked."""
    runner.invoke(args=["seed", "--users", "3", "--posts", "5"])
    with deployed.app_context():
        post = db.session.scalars(db.select(Post)).first()
        author = post.author.username
    deployed.config["WTF_CSRF_ENABLED"] = True  # as in production: forms make CSRF tokens
    client = deployed.test_client()
    for path in ("/", "/?page=2", f"/user/{author}", f"/post/{post.id}"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "Set-Cookie" not in answer.headers, (path, answer.headers["Set-Cookie"])
    assert "Set-Cookie" in client.get("/auth/login").headers  # a form: its CSRF token needs a session
