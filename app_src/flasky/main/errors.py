from flask import jsonify, render_template, request

from . import main


def _wants_json():
    return request.accept_mimetypes.best == "application/json"


@main.app_errorhandler(403)
def forbidden(e):
    if _wants_json():
        return jsonify(error="forbidden"), 403
    return render_template("errors/403.html"), 403


@main.app_errorhandler(404)
def page_not_found(e):
    if _wants_json():
        return jsonify(error="not found"), 404
    return render_template("errors/404.html"), 404


@main.app_errorhandler(500)
def internal_server_error(e):
    if _wants_json():
        return jsonify(error="internal server error"), 500
    return render_template("errors/500.html"), 500
