"""A small Flask app of the plain-tree shape, written to test flasky.deploy with an app it did
not write: no /healthz, SERVER_NAME set, Alembic migrations found relative to the working
directory, a long-running worker command and a command run by a timer."""

import os
import socket
import time

import click
import docopt  # noqa: F401  (an sdist-only, pure-Python dependency)
import regex
from flask import Flask, render_template
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
RELEASE_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "RELEASE")


class Note(db.Model):
    __tablename__ = "notes"
    id = db.Column(db.Integer, primary_key=True)
    body = db.Column(db.String(200), nullable=False)


class Beat(db.Model):
    """Written by the worker and the timer: who ran, from which release."""
    __tablename__ = "beats"
    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(16), nullable=False)
    release = db.Column(db.String(64), nullable=False)
    host = db.Column(db.String(64), nullable=False)


def release():
    with open(RELEASE_FILE, encoding="utf-8") as handle:
        return handle.read().strip()


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    app.config["SERVER_NAME"] = os.environ["SERVER_NAME"]
    app.config["PREFERRED_URL_SCHEME"] = "https"
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    db.init_app(app)

    @app.route("/")
    def index():
        words = regex.findall(r"\p{L}+", "Notes über alles")
        return render_template("index.html", release=release(), notes=Note.query.count(), words=len(words))

    def beat(kind):
        db.session.add(Beat(kind=kind, release=release(), host=socket.gethostname()))
        db.session.commit()

    @app.cli.command("work")
    @click.option("--every", default=2.0)
    def work(every):
        """The background worker: a beat every few seconds until stopped."""
        while True:
            beat("worker")
            time.sleep(every)

    @app.cli.command("tick")
    def tick():
        """Run by a timer."""
        beat("timer")

    return app
