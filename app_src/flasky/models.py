"""Data model: roles and permissions, users, follows, posts, comments."""

from datetime import datetime, timezone

from flask import current_app
from flask_login import AnonymousUserMixin, UserMixin
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import column_property
from werkzeug.security import check_password_hash, generate_password_hash

from . import db, login_manager


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Permission:
    FOLLOW = 1
    COMMENT = 2
    WRITE = 4
    MODERATE = 8
    ADMIN = 16


class Role(db.Model):
    __tablename__ = "roles"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), unique=True)
    default = db.Column(db.Boolean, default=False, index=True)
    permissions = db.Column(db.Integer)
    users = db.relationship("User", backref="role", lazy="dynamic")

    # name -> (permissions, default)
    WANTED = {
        "User": (Permission.FOLLOW | Permission.COMMENT | Permission.WRITE, True),
        "Moderator": (Permission.FOLLOW | Permission.COMMENT | Permission.WRITE | Permission.MODERATE, False),
        "Administrator": (Permission.FOLLOW | Permission.COMMENT | Permission.WRITE | Permission.MODERATE
                          | Permission.ADMIN, False),
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.permissions is None:
            self.permissions = 0

    @classmethod
    def pending_roles(cls):
        """Names of the roles that are missing or differ from WANTED."""
        existing = {r.name: r for r in cls.query.all()}
        return sorted(name for name, (perms, default) in cls.WANTED.items()
                      if name not in existing
                      or existing[name].permissions != perms
                      or bool(existing[name].default) != default)

    @classmethod
    def insert_roles(cls):
        """Create or correct the roles. Idempotent: returns the names it changed."""
        changed = cls.pending_roles()
        for name in changed:
            perms, default = cls.WANTED[name]
            role = cls.query.filter_by(name=name).first() or cls(name=name)
            role.permissions = perms
            role.default = default
            db.session.add(role)
        db.session.commit()
        return changed

    def has_permission(self, perm):
        return self.permissions & perm == perm

    def __repr__(self):
        return f"<Role {self.name}>"


class Follow(db.Model):
    __tablename__ = "follows"
    follower_id = db.Column(db.Integer, db.ForeignKey("users.id"), primary_key=True)
    followed_id = db.Column(db.Integer, db.ForeignKey("users.id"), primary_key=True)
    timestamp = db.Column(db.DateTime, default=utcnow)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(64), unique=True, index=True)
    username = db.Column(db.String(64), unique=True, index=True)
    role_id = db.Column(db.Integer, db.ForeignKey("roles.id"))
    password_hash = db.Column(db.String(256))
    confirmed = db.Column(db.Boolean, default=False)
    name = db.Column(db.String(64))
    location = db.Column(db.String(64))
    about_me = db.Column(db.Text())
    member_since = db.Column(db.DateTime(), default=utcnow)
    last_seen = db.Column(db.DateTime(), default=utcnow)
    posts = db.relationship("Post", backref="author", lazy="dynamic")
    followed = db.relationship("Follow", foreign_keys=[Follow.follower_id],
                               backref=db.backref("follower", lazy="joined"),
                               lazy="dynamic", cascade="all, delete-orphan")
    followers = db.relationship("Follow", foreign_keys=[Follow.followed_id],
                                backref=db.backref("followed", lazy="joined"),
                                lazy="dynamic", cascade="all, delete-orphan")
    comments = db.relationship("Comment", backref="author", lazy="dynamic")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.role is None:
            if self.email and self.email == current_app.config["FLASKY_ADMIN"]:
                self.role = Role.query.filter_by(name="Administrator").first()
            if self.role is None:
                self.role = Role.query.filter_by(default=True).first()
        self.follow(self)

    @staticmethod
    def users_without_self_follow():
        follows_self = db.select(Follow.follower_id).where(Follow.follower_id == Follow.followed_id)
        return User.query.filter(User.id.not_in(follows_self))

    @staticmethod
    def add_self_follows():
        """Make every user follow themselves. Idempotent: returns how many it added."""
        users = User.users_without_self_follow().all()
        for user in users:
            user.follow(user)
            db.session.add(user)
        db.session.commit()
        return len(users)

    @property
    def password(self):
        raise AttributeError("password is not a readable attribute")

    @password.setter
    def password(self, password):
        self.password_hash = generate_password_hash(password)

    def verify_password(self, password):
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    @staticmethod
    def _serializer(salt):
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)

    def generate_confirmation_token(self):
        return self._serializer("confirm").dumps({"confirm": self.id})

    def confirm(self, token, max_age=3600):
        try:
            data = self._serializer("confirm").loads(token, max_age=max_age)
        except (BadSignature, SignatureExpired):
            return False
        if data.get("confirm") != self.id:
            return False
        self.confirmed = True
        db.session.add(self)
        return True

    def generate_reset_token(self):
        # The current hash is part of the token: a used or superseded token stops working.
        return self._serializer("reset").dumps({"reset": self.id, "h": self.password_hash[-12:]})

    @staticmethod
    def reset_password(token, new_password, max_age=3600):
        try:
            data = User._serializer("reset").loads(token, max_age=max_age)
        except (BadSignature, SignatureExpired):
            return False
        user = db.session.get(User, data.get("reset"))
        if user is None or user.password_hash[-12:] != data.get("h"):
            return False
        user.password = new_password
        db.session.add(user)
        return True

    def can(self, perm):
        return self.role is not None and self.role.has_permission(perm)

    def is_administrator(self):
        return self.can(Permission.ADMIN)

    def ping(self):
        self.last_seen = utcnow()
        db.session.add(self)
        db.session.commit()

    def follow(self, user):
        if not self.is_following(user):
            self.followed.append(Follow(followed=user))

    def unfollow(self, user):
        f = self.followed.filter_by(followed_id=user.id).first()
        if f:
            db.session.delete(f)

    def is_following(self, user):
        if user.id is None:
            return any(f.followed is user for f in self.followed)
        return self.followed.filter_by(followed_id=user.id).first() is not None

    def is_followed_by(self, user):
        if user.id is None:
            return False
        return self.followers.filter_by(follower_id=user.id).first() is not None

    @property
    def followed_posts(self):
        return Post.query.join(Follow, Follow.followed_id == Post.author_id).filter(
            Follow.follower_id == self.id)

    def __repr__(self):
        return f"<User {self.username}>"


class AnonymousUser(AnonymousUserMixin):
    def can(self, permissions):
        return False

    def is_administrator(self):
        return False


login_manager.anonymous_user = AnonymousUser


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id))


class Post(db.Model):
    __tablename__ = "posts"
    id = db.Column(db.Integer, primary_key=True)
    body = db.Column(db.Text)
    timestamp = db.Column(db.DateTime, index=True, default=utcnow)
    author_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    comments = db.relationship("Comment", backref="post", lazy="dynamic")


class Comment(db.Model):
    __tablename__ = "comments"
    id = db.Column(db.Integer, primary_key=True)
    body = db.Column(db.Text)
    timestamp = db.Column(db.DateTime, index=True, default=utcnow)
    disabled = db.Column(db.Boolean, default=False)
    author_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    post_id = db.Column(db.Integer, db.ForeignKey("posts.id"))


# The number of comments of a post, loaded in the same SELECT as the post (a correlated subquery):
# a page of posts is one query, not one more per post.
Post.comment_count = column_property(
    db.select(db.func.count(Comment.id)).where(Comment.post_id == Post.id)
    .correlate_except(Comment).scalar_subquery())
