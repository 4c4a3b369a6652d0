"""Command-line tasks: `flask deploy` and `flask seed` (plus Flask-Migrate's `flask db`)."""

import json
import random
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from . import db
from .dbstate import current_revisions, pending_revisions

EXIT_PENDING = 3


def deploy_status():
    """What a deploy would do now, without doing it."""
    from .models import Role, User

    status = {"migrations": pending_revisions(), "roles": [], "self_follows": 0}
    if not status["migrations"]:  # the tables exist and have their final shape
        status["roles"] = Role.pending_roles()
        status["self_follows"] = User.users_without_self_follow().count()
    else:
        status["roles"] = sorted(Role.WANTED)  # cannot look before the tables exist
    status["pending"] = bool(status["migrations"] or status["roles"] or status["self_follows"])
    return status


def run_deploy():
    """Upgrade to head, insert roles, add self-follows. Idempotent."""
    from .models import Role, User

    before = sorted(current_revisions())
    applied = pending_revisions()
    if applied:
        upgrade(directory=current_app.extensions["migrate"].directory)
    roles = Role.insert_roles()
    follows = User.add_self_follows()
    return {
        "changed": bool(applied or roles or follows),
        "migrations": {"from": before, "to": sorted(current_revisions()), "applied": applied},
        "roles": roles,
        "self_follows": follows,
    }


@click.command("deploy")
@click.option("--check", is_flag=True,
              help=f"Only report whether a deploy is pending: exit 0 when not, {EXIT_PENDING} when it is.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (for automation).")
@with_appcontext
def deploy_command(check, as_json):
    """Run deployment tasks: migrate to head, insert roles, add self-follows.

    Safe to run any number of times. The last line (or the JSON's "changed") says whether
    anything changed.
    """
    if check:
        status = deploy_status()
        if as_json:
            click.echo(json.dumps(status, sort_keys=True))
        else:
            click.echo(f"migrations pending: {', '.join(status['migrations']) or 'none'}")
            click.echo(f"roles pending: {', '.join(status['roles']) or 'none'}")
            click.echo(f"users without self-follow: {status['self_follows']}")
            click.echo(f"pending={'true' if status['pending'] else 'false'}")
        sys.exit(EXIT_PENDING if status["pending"] else 0)

    result = run_deploy()
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    mig = result["migrations"]
    if mig["applied"]:
        click.echo(f"migrations applied: {', '.join(mig['applied'])} (now at {', '.join(mig['to'])})")
    else:
        click.echo(f"migrations: already at head {', '.join(mig['to'])}")
    click.echo(f"roles created or updated: {', '.join(result['roles']) or 'none'}")
    click.echo(f"self-follows added: {result['self_follows']}")
    click.echo(f"changed={'true' if result['changed'] else 'false'}")


WORDS = ("flask deploy server nginx gunicorn postgres mariadb postfix syslog firewall release "
         "rollback upgrade health cache proxy socket worker queue backup restore schema index "
         "query page follow comment moderate token mail secure vault ansible debian").split()


def _sentence(rng, low=6, high=20):
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


@click.command("seed")
@click.option("--users", default=100, show_default=True, help="Fake users to have in total.")
@click.option("--posts", default=1000, show_default=True, help="Fake posts to have in total.")
@click.option("--seed", "seed_value", default=1, show_default=True, help="Random seed (same seed, same data).")
@with_appcontext
def seed_command(users, posts, seed_value):
    """Create fake users and posts (for benchmarks and demos). Tops up to the totals asked."""
    from .models import Post, User

    rng = random.Random(seed_value)
    have_users = User.query.filter(User.email.like("seed%@example.com")).count()
    for i in range(have_users, users):
        u = User(email=f"seed{i}@example.com", username=f"seed{i}", confirmed=True,
                 name=f"Seed User {i}", location=rng.choice(["Lyon", "Berlin", "Osaka", "Lima"]),
                 about_me=_sentence(rng))
        u.password_hash = "!"  # cannot log in
        db.session.add(u)
        if i % 500 == 499:
            db.session.commit()
    db.session.commit()
    seeded = [uid for (uid,) in db.session.execute(
        db.select(User.id).where(User.email.like("seed%@example.com")))]
    have_posts = Post.query.filter(Post.author_id.in_(db.select(User.id).where(
        User.email.like("seed%@example.com")))).count()
    if seeded:
        for i in range(have_posts, posts):
            db.session.add(Post(body=_sentence(rng, 10, 40), author_id=rng.choice(seeded)))
            if i % 1000 == 999:
                db.session.commit()
        db.session.commit()
    click.echo(f"seeded users={max(users, have_users)} posts={max(posts, have_posts) if seeded else 0}")


def register_commands(app):
    app.cli.add_command(deploy_command)
    app.cli.add_command(seed_command)


def main():
    """`flasky` console script: the flask CLI with this app preselected."""
    from . import create_app

    cli = FlaskGroup(create_app=lambda: create_app())
    cli.main(prog_name="flasky")
