import time

import pytest
from flasky import db
from flasky.models import AnonymousUser, Permission, Role, User


@pytest.fixture
def users(deployed, ctx):
    def make(email, username):
        u = User(email=email, username=username, password="correct horse")
        db.session.add(u)
        db.session.commit()
        return u
    return make


def test_password_is_hashed_and_unreadable(users):
    u = users("a@example.com", "a")
    assert u.password_hash and "correct horse" not in u.password_hash
    with pytest.raises(AttributeError):
        _ = u.password
    assert u.verify_password("correct horse") and not u.verify_password("wrong")


def test_same_password_different_salts(users):
    assert users("a@example.com", "a").password_hash != users("b@example.com", "b").password_hash


def test_confirmation_token(users):
    u1, u2 = users("a@example.com", "a"), users("b@example.com", "b")
    assert not u2.confirm(u1.generate_confirmation_token())
    assert u1.confirm(u1.generate_confirmation_token())


def test_expired_confirmation_token(users):
    u = users("a@example.com", "a")
    token = u.generate_confirmation_token()
    time.sleep(1.1)
    assert not u.confirm(token, max_age=0)


def test_reset_token_works_once(users):
    u = users("a@example.com", "a")
    token = u.generate_reset_token()
    assert User.reset_password(token, "new password 1")
    db.session.commit()
    assert u.verify_password("new password 1")
    assert not User.reset_password(token, "new password 2")  # the hash changed: token spent


def test_roles_and_permissions(users, app):
    u = users("a@example.com", "a")
    assert u.role.name == "User"
    assert u.can(Permission.WRITE) and not u.can(Permission.MODERATE)
    admin = users(app.config["FLASKY_ADMIN"], "boss")
    assert admin.is_administrator() and admin.can(Permission.MODERATE)
    anon = AnonymousUser()
    assert not anon.can(Permission.FOLLOW) and not anon.is_administrator()


def test_insert_roles_is_idempotent(deployed, ctx):
    assert Role.insert_roles() == []
    assert Role.query.count() == 3


def test_follows(users):
    u1, u2 = users("a@example.com", "a"), users("b@example.com", "b")
    assert u1.is_following(u1)  # self-follow from the constructor
    u1.follow(u2)
    db.session.commit()
    assert u1.is_following(u2) and u2.is_followed_by(u1) and not u2.is_following(u1)
    assert u1.followed.count() == 2 and u2.followers.count() == 2
    u1.unfollow(u2)
    db.session.commit()
    assert not u1.is_following(u2)
    assert User.add_self_follows() == 0
