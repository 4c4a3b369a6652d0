from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import db
from ..decorators import admin_required, permission_required
from ..models import Comment, Permission, Post, Role, User
from . import main
from .forms import ActionForm, CommentForm, EditProfileAdminForm, EditProfileForm, PostForm


def _page():
    return request.args.get("page", 1, type=int)


def _action_form():
    """The CSRF-protected form of the action buttons, for logged-in users only: building a form
    makes a CSRF token, which sets a session cookie, and anonymous pages must set none (so that
    they can be cached and nobody gets a cookie just for reading)."""
    return ActionForm() if current_user.is_authenticated else None


def _with_authors(query):
    """Posts with their authors in the same SELECT (a page of posts is one query, not one per author)."""
    return query.options(db.joinedload(Post.author))


def _paginate(query, per_page_setting, page=None):
    return query.paginate(page=page or _page(), per_page=current_app.config[per_page_setting], error_out=False)


@main.route("/", methods=["GET", "POST"])
def index():
    form = PostForm() if current_user.can(Permission.WRITE) else None
    if form is not None and form.validate_on_submit():
        post = Post(body=form.body.data, author=current_user._get_current_object())
        db.session.add(post)
        db.session.commit()
        return redirect(url_for(".index"))
    show_followed = current_user.is_authenticated and bool(request.cookies.get("show_followed", ""))
    query = current_user.followed_posts if show_followed else Post.query
    pagination = _paginate(_with_authors(query).order_by(Post.timestamp.desc(), Post.id.desc()),
                           "FLASKY_POSTS_PER_PAGE")
    return render_template("main/index.html", form=form, posts=pagination.items,
                           show_followed=show_followed, pagination=pagination)


@main.route("/user/<username>")
def user(username):
    user = User.query.filter_by(username=username).first_or_404()
    pagination = _paginate(user.posts.order_by(Post.timestamp.desc(), Post.id.desc()), "FLASKY_POSTS_PER_PAGE")
    return render_template("main/user.html", user=user, posts=pagination.items, pagination=pagination,
                           action=_action_form())


@main.route("/edit-profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    form = EditProfileForm()
    if form.validate_on_submit():
        current_user.name = form.name.data
        current_user.location = form.location.data
        current_user.about_me = form.about_me.data
        db.session.add(current_user._get_current_object())
        db.session.commit()
        flash("Your profile has been updated.")
        return redirect(url_for(".user", username=current_user.username))
    form.name.data = current_user.name
    form.location.data = current_user.location
    form.about_me.data = current_user.about_me
    return render_template("main/edit_profile.html", form=form)


@main.route("/edit-profile/<int:id>", methods=["GET", "POST"])
@login_required
@admin_required
def edit_profile_admin(id):
    user = db.get_or_404(User, id)
    form = EditProfileAdminForm(user=user)
    if form.validate_on_submit():
        user.email = form.email.data.lower()
        user.username = form.username.data
        user.confirmed = form.confirmed.data
        user.role = db.session.get(Role, form.role.data)
        user.name = form.name.data
        user.location = form.location.data
        user.about_me = form.about_me.data
        db.session.add(user)
        db.session.commit()
        flash("The profile has been updated.")
        return redirect(url_for(".user", username=user.username))
    form.email.data = user.email
    form.username.data = user.username
    form.confirmed.data = user.confirmed
    form.role.data = user.role_id
    form.name.data = user.name
    form.location.data = user.location
    form.about_me.data = user.about_me
    return render_template("main/edit_profile.html", form=form, user=user)


@main.route("/post/<int:id>", methods=["GET", "POST"])
def post(id):
    post = db.get_or_404(Post, id)
    form = CommentForm() if current_user.can(Permission.COMMENT) else None
    if form is not None and form.validate_on_submit():
        comment = Comment(body=form.body.data, post=post, author=current_user._get_current_object())
        db.session.add(comment)
        db.session.commit()
        flash("Your comment has been published.")
        return redirect(url_for(".post", id=post.id, page=-1))
    per_page = current_app.config["FLASKY_COMMENTS_PER_PAGE"]
    page = _page()
    if page == -1:
        page = max(1, (post.comments.count() - 1) // per_page + 1)
    pagination = _paginate(post.comments.order_by(Comment.timestamp.asc(), Comment.id.asc()),
                           "FLASKY_COMMENTS_PER_PAGE", page)
    return render_template("main/post.html", posts=[post], form=form, comments=pagination.items,
                           pagination=pagination, action=_action_form())


@main.route("/edit/<int:id>", methods=["GET", "POST"])
@login_required
def edit(id):
    post = db.get_or_404(Post, id)
    if current_user != post.author and not current_user.can(Permission.ADMIN):
        abort(403)
    form = PostForm()
    if form.validate_on_submit():
        post.body = form.body.data
        db.session.add(post)
        db.session.commit()
        flash("The post has been updated.")
        return redirect(url_for(".post", id=post.id))
    form.body.data = post.body
    return render_template("main/edit_post.html", form=form)


def _set_following(username, follow):
    """Follow or unfollow a user (a CSRF-protected POST), then show their page."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = User.query.filter_by(username=username).first()
    if user is None:
        flash("Invalid user.")
        return redirect(url_for(".index"))
    if current_user.is_following(user) == follow:
        flash("You are already following this user." if follow else "You are not following this user.")
    else:
        (current_user.follow if follow else current_user.unfollow)(user)
        db.session.commit()
        flash(f"You are now following {username}." if follow else f"You are not following {username} anymore.")
    return redirect(url_for(".user", username=username))


@main.route("/follow/<username>", methods=["POST"])
@login_required
@permission_required(Permission.FOLLOW)
def follow(username):
    return _set_following(username, True)


@main.route("/unfollow/<username>", methods=["POST"])
@login_required
@permission_required(Permission.FOLLOW)
def unfollow(username):
    return _set_following(username, False)


def _follow_list(username, relation, title, endpoint):
    user = User.query.filter_by(username=username).first()
    if user is None:
        flash("Invalid user.")
        return redirect(url_for(".index"))
    pagination = _paginate(getattr(user, relation), "FLASKY_FOLLOWERS_PER_PAGE")
    attr = "follower" if relation == "followers" else "followed"
    follows = [{"user": getattr(item, attr), "timestamp": item.timestamp} for item in pagination.items]
    return render_template("main/followers.html", user=user, title=title, endpoint=endpoint,
                           pagination=pagination, follows=follows)


@main.route("/followers/<username>")
def followers(username):
    return _follow_list(username, "followers", "Followers of", ".followers")


@main.route("/followed_by/<username>")
def followed_by(username):
    return _follow_list(username, "followed", "Followed by", ".followed_by")


def _show_followed(value):
    resp = make_response(redirect(url_for(".index")))
    resp.set_cookie("show_followed", value, max_age=30 * 24 * 60 * 60, httponly=True, samesite="Lax",
                    secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return resp


@main.route("/all")
@login_required
def show_all():
    return _show_followed("")


@main.route("/followed")
@login_required
def show_followed():
    return _show_followed("1")


@main.route("/moderate")
@login_required
@permission_required(Permission.MODERATE)
def moderate():
    page = _page()
    pagination = _paginate(Comment.query.order_by(Comment.timestamp.desc()), "FLASKY_COMMENTS_PER_PAGE", page)
    return render_template("main/moderate.html", comments=pagination.items, pagination=pagination,
                           page=page, action=ActionForm())


def _set_comment(id, disabled):
    if not ActionForm().validate_on_submit():
        abort(400)
    comment = db.get_or_404(Comment, id)
    comment.disabled = disabled
    db.session.add(comment)
    db.session.commit()
    return redirect(url_for(".moderate", page=_page()))


@main.route("/moderate/enable/<int:id>", methods=["POST"])
@login_required
@permission_required(Permission.MODERATE)
def moderate_enable(id):
    return _set_comment(id, False)


@main.route("/moderate/disable/<int:id>", methods=["POST"])
@login_required
@permission_required(Permission.MODERATE)
def moderate_disable(id):
    return _set_comment(id, True)
