"""Outgoing mail through the configured MTA (the local Postfix in production)."""

from flask import current_app, render_template
from flask_mail import Message

from . import mail


def send_email(to, subject, template, **kwargs):
    app = current_app._get_current_object()
    msg = Message(app.config["FLASKY_MAIL_SUBJECT_PREFIX"] + " " + subject,
                  sender=app.config["FLASKY_MAIL_SENDER"], recipients=[to])
    msg.body = render_template(template + ".txt", **kwargs)
    msg.html = render_template(template + ".html", **kwargs)
    try:
        mail.send(msg)
    except OSError:
        # The request still succeeds (the user can ask for a new mail); the failure is logged
        # at ERROR, which reaches the administrator and syslog in production.
        app.logger.exception("could not send %r to %s", subject, to)
        return False
    return True
