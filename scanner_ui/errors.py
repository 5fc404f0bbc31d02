"""Domain errors become HTTP responses in one place, with one JSON shape."""

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from domain.errors import Conflict, DomainError, InvalidInput, NotFound

STATUS = ((NotFound, 404), (InvalidInput, 422), (Conflict, 409), (DomainError, 400))


def status_of(error: DomainError) -> int:
    return next(status for kind, status in STATUS if isinstance(error, kind))


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return jsonify(error={"code": error.code, "message": str(error)}), status_of(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return jsonify(error={"code": error.name.lower().replace(" ", "_"), "message": error.description}), error.code
