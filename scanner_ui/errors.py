"""Domain errors become HTTP responses in one place, with one JSON shape."""

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from domain.errors import Conflict, DomainError, InvalidInput, NotFound, RowsRejected
from domain.staff import NotAllowed

from . import i18n

STATUS = ((NotAllowed, 403), (NotFound, 404), (InvalidInput, 422), (Conflict, 409), (DomainError, 400))


def status_of(error: DomainError | type) -> int:
    kind = error if isinstance(error, type) else type(error)
    return next(status for base, status in STATUS if issubclass(kind, base))


def _error_kinds(base: type = DomainError):
    yield base
    for sub in base.__subclasses__():
        yield from _error_kinds(sub)


def status_of_code(code: str) -> int:
    """The status of a refused scan, known only by its recorded error code."""
    return next((status_of(kind) for kind in _error_kinds() if kind.code == code), 400)


def detail(error: DomainError) -> str:
    """A refusal's words for a back-office page, in the language its reader chose."""
    return i18n.refusal(getattr(g, "lang", "en"), error) if g else str(error)


def rows(error: RowsRejected) -> dict[int, str]:
    """What is wrong with each rejected row, in the reader's language."""
    return {number: detail(reason) for number, reason in error.reasons.items()}


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        message = in_language(error.code, str(error), error)
        return jsonify(error={"code": error.code, "message": message}), status_of(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.name.lower().replace(" ", "_")
        return jsonify(error={"code": code, "message": in_language(code, error.description)}), error.code


def in_language(code: str, detail: str, error: DomainError | None = None) -> str:
    """An error's message for a caller who asked for a language (Accept-Language): the kind of refusal in that
    language, then the detail (in that language too when the refusal has its words); without the header, the detail
    as it is."""
    if not request or "Accept-Language" not in request.headers:
        return detail
    language = i18n.language_asked(request.accept_languages)
    if error is None:
        return i18n.with_title(language, code, detail)
    return i18n.with_title(language, code, i18n.refusal(language, error), getattr(error, "params", None))
