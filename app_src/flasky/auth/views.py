from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import OPS_ENDPOINTS, db, limiter
from ..email import send_email
from ..models import User
from . import auth
from .forms import ChangePasswordForm, LoginForm, PasswordResetForm, PasswordResetRequestForm, RegistrationForm


@auth.before_app_request
def before_request():
    if current_user.is_authenticated and request.endpoint not in OPS_ENDPOINTS:
        current_user.ping()
        if (not current_user.confirmed and request.blueprint != "auth"
                and request.endpoint != "static" and request.endpoint not in OPS_ENDPOINTS):
            return redirect(url_for("auth.unconfirmed"))
    return None


def _account():
    """The account a form names: per-account limits hold whatever address the client uses."""
    return "account:" + (request.form.get("email") or "").strip().lower()


def _user():
    return f"user:{current_user.get_id()}"


# Per client address and per account, POSTs only: credential stuffing and mail bombing cost.
_by_address = limiter.shared_limit(lambda: current_app.config["FLASKY_AUTH_LIMIT"], scope="auth",
                                   methods=["POST"])
_by_account = limiter.shared_limit(lambda: current_app.config["FLASKY_ACCOUNT_LIMIT"], scope="account",
                                   key_func=_account, methods=["POST"])


def _safe_next(target):
    # Only local paths: never redirect a user to another site after login.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.index")


@auth.route("/unconfirmed")
def unconfirmed():
    if current_user.is_anonymous or current_user.confirmed:
        return redirect(url_for("main.index"))
    return render_template("auth/unconfirmed.html")


@auth.route("/login", methods=["GET", "POST"])
@_by_address
@_by_account
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = User.query.filter_by(email=form.email.data.lower()).first()
        if user is not None and user.verify_password(form.password.data):
            login_user(user, form.remember_me.data)
            return redirect(_safe_next(request.args.get("next")))
        flash("Invalid email or password.")
    return render_template("auth/login.html", form=form)


@auth.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You have been logged out.")
    return redirect(url_for("main.index"))


@auth.route("/register", methods=["GET", "POST"])
@_by_address
@_by_account
def register():
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(email=form.email.data.lower(), username=form.username.data,
                    password=form.password.data)
        db.session.add(user)
        db.session.commit()
        token = user.generate_confirmation_token()
        send_email(user.email, "Confirm Your Account", "mail/confirm", user=user, token=token)
        flash("A confirmation email has been sent to you by email.")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


@auth.route("/confirm/<token>")
@login_required
@limiter.limit(lambda: current_app.config["FLASKY_AUTH_LIMIT"])
def confirm(token):
    if current_user.confirmed:
        return redirect(url_for("main.index"))
    if current_user.confirm(token):
        db.session.commit()
        flash("You have confirmed your account. Thanks!")
    else:
        flash("The confirmation link is invalid or has expired.")
    return redirect(url_for("main.index"))


@auth.route("/confirm", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["FLASKY_MAIL_LIMIT"], key_func=_user)
def resend_confirmation():
    token = current_user.generate_confirmation_token()
    send_email(current_user.email, "Confirm Your Account", "mail/confirm", user=current_user, token=token)
    flash("A new confirmation email has been sent to you by email.")
    return redirect(url_for("main.index"))


@auth.route("/change-password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if current_user.verify_password(form.old_password.data):
            current_user.password = form.password.data
            db.session.add(current_user)
            db.session.commit()
            flash("Your password has been updated.")
            return redirect(url_for("main.index"))
        flash("Invalid password.")
    return render_template("auth/change_password.html", form=form)


@auth.route("/reset", methods=["GET", "POST"])
@_by_address
@_by_account
def password_reset_request():
    if not current_user.is_anonymous:
        return redirect(url_for("main.index"))
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        user = User.query.filter_by(email=form.email.data.lower()).first()
        if user:
            token = user.generate_reset_token()
            send_email(user.email, "Reset Your Password", "mail/reset_password", user=user, token=token)
        # The same answer whether or not the address is known: no account enumeration.
        flash("An email with instructions to reset your password has been sent to you.")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@auth.route("/reset/<token>", methods=["GET", "POST"])
@_by_address
def password_reset(token):
    if not current_user.is_anonymous:
        return redirect(url_for("main.index"))
    form = PasswordResetForm()
    if form.validate_on_submit():
        if User.reset_password(token, form.password.data):
            db.session.commit()
            flash("Your password has been updated.")
            return redirect(url_for("auth.login"))
        flash("The reset link is invalid or has expired.")
        return redirect(url_for("main.index"))
    return render_template("auth/reset_password.html", form=form)
