"""A user's path through the site, with the confirmation mail captured."""

import re

from conftest import link_in
from flasky import db
from flasky.models import Comment, Post, Role, User


def update_user(app, username, **changes):
    with app.app_context():
        user = User.query.filter_by(username=username).one()
        for key, value in changes.items():
            if key == "role":
                value = Role.query.filter_by(name=value).one()
            setattr(user, key, value)
        db.session.commit()


def query(app, fn):
    with app.app_context():
        return fn()


def register(client, email="susan@example.com", username="susan", password="cat-password"):
    return client.post("/auth/register", data={"email": email, "username": username,
                                               "password": password, "password2": password})


def login(client, email="susan@example.com", password="cat-password"):
    return client.post("/auth/login", data={"email": email, "password": password}, follow_redirects=True)


def test_register_confirm_post_follow(app, client, outbox):
    resp = client.get("/")
    assert resp.status_code == 200 and "Hello, Stranger!" in resp.get_data(as_text=True)

    resp = register(client)
    assert resp.status_code == 302
    assert len(outbox) == 1
    msg = outbox[0]
    assert msg.recipients == ["susan@example.com"]
    assert msg.subject == "[Flasky] Confirm Your Account"
    confirm_path = link_in(msg.body, "/auth/confirm/")

    resp = login(client)
    assert "You have not confirmed your account yet" in resp.get_data(as_text=True)

    resp = client.get(confirm_path, follow_redirects=True)
    assert "You have confirmed your account" in resp.get_data(as_text=True)
    assert query(app, lambda: User.query.filter_by(username="susan").one().confirmed)

    resp = client.post("/", data={"body": "Hello from Susan"}, follow_redirects=True)
    assert "Hello from Susan" in resp.get_data(as_text=True)
    assert query(app, lambda: Post.query.one().author.username) == "susan"

    # a second user to follow
    other = client.application.test_client()
    register(other, "john@example.com", "john", "dog-password")
    update_user(app, "john", confirmed=True)

    resp = client.post("/follow/john", follow_redirects=True)
    assert "You are now following john" in resp.get_data(as_text=True)
    assert query(app, lambda: User.query.filter_by(username="susan").one().is_following(
        User.query.filter_by(username="john").one()))
    page = client.get("/followers/john").get_data(as_text=True)
    assert "susan" in page

    resp = client.post("/unfollow/john", follow_redirects=True)
    assert "You are not following john anymore" in resp.get_data(as_text=True)


def test_follow_requires_post(app, client):
    register(client)
    update_user(app, "susan", confirmed=True)
    login(client)
    assert client.get("/follow/susan").status_code == 405


def test_bad_login_and_duplicate_registration(client, outbox):
    register(client)
    resp = login(client, password="wrong")
    assert "Invalid email or password" in resp.get_data(as_text=True)
    resp = register(client)
    assert resp.status_code == 200 and "Email already registered" in resp.get_data(as_text=True)


def test_password_reset_by_mail(client, outbox):
    register(client)
    outbox.clear()
    resp = client.post("/auth/reset", data={"email": "susan@example.com"}, follow_redirects=True)
    assert "instructions to reset your password" in resp.get_data(as_text=True)
    assert len(outbox) == 1 and outbox[0].subject == "[Flasky] Reset Your Password"
    path = link_in(outbox[0].body, "/auth/reset/")
    client.post(path, data={"password": "new-password", "password2": "new-password"})
    page = login(client, password="new-password").get_data(as_text=True)
    assert "You have not confirmed your account yet" in page  # logged in (unconfirmed) with the new one
    # unknown addresses get the same answer and no mail
    outbox.clear()
    anonymous = client.application.test_client()
    resp = anonymous.post("/auth/reset", data={"email": "nobody@example.com"}, follow_redirects=True)
    assert "instructions to reset your password" in resp.get_data(as_text=True) and not outbox


def test_login_never_redirects_off_site(client):
    register(client)
    resp = client.post("/auth/login?next=//evil.example/x",
                       data={"email": "susan@example.com", "password": "cat-password"})
    assert resp.status_code == 302 and not re.match(r"(https?:)?//", resp.headers["Location"])


def test_moderator_can_disable_comment(app, client):
    register(client)
    update_user(app, "susan", confirmed=True, role="Moderator")
    login(client)
    client.post("/", data={"body": "a post"})
    post_id = query(app, lambda: Post.query.one().id)
    client.post(f"/post/{post_id}", data={"body": "rude comment"})
    comment_id = query(app, lambda: Comment.query.one().id)
    assert client.get("/moderate").status_code == 200
    client.post(f"/moderate/disable/{comment_id}")
    assert query(app, lambda: db.session.get(Comment, comment_id).disabled)
    page = client.get(f"/post/{post_id}").get_data(as_text=True)
    assert "disabled by a moderator" in page and "rude comment" not in page


def test_unknown_page_is_404(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404 and "This page does not exist" in resp.get_data(as_text=True)


def test_reset_link_names_the_server_whatever_the_host_asked(client, outbox):
    register(client)
    outbox.clear()
    # A request that reached the app under another name (the proxy refuses those; the app's
    # links are built from SERVER_NAME anyway).
    client.post("/auth/reset", data={"email": "susan@example.com"}, headers={"X-Forwarded-Host": "evil.example"})
    assert len(outbox) == 1
    assert re.search(r"https?://flasky\.test/auth/reset/", outbox[0].body), outbox[0].body
    assert "evil.example" not in outbox[0].body


def test_login_attempts_are_limited_per_address_and_per_account(tmp_path):
    from flasky import create_app

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'l.sqlite'}",
                     RATELIMIT_ENABLED=True, FLASKY_AUTH_LIMIT="10 per minute", FLASKY_ACCOUNT_LIMIT="5 per minute")
    app.test_cli_runner().invoke(args=["deploy"])
    client = app.test_client()
    attempt = {"email": "susan@example.com", "password": "wrong"}
    codes = [client.post("/auth/login", data=attempt, environ_base={"REMOTE_ADDR": f"198.51.100.{i}"}).status_code
             for i in range(7)]  # seven addresses, one account
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429], codes
    blocked = client.post("/auth/login", data=attempt, environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert blocked.headers.get("Retry-After"), blocked.headers
    codes = [client.post("/auth/login", data={"email": f"u{i}@example.com", "password": "x"},
                         environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code for i in range(12)]
    assert codes.count(429) == 2 and codes[:10] == [200] * 10, codes  # one address, many accounts
    # reading the form, and the health endpoint, are never limited
    assert client.get("/auth/login", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200
