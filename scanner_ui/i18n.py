"""Chinese (default) and English from one gettext catalogue per language, `translations/<lang>/LC_MESSAGES/messages.po`
(read with Babel when first needed, so a plain `pip install -e .` is enough); the choice is remembered in a cookie,
or taken from a setting or the request's Accept-Language where there is no cookie (the API, the CLI)."""

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "lang"
CATALOGUES = Path(__file__).parent / "translations"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The words of a language by key, from its .po file."""
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as file:
        return {message.id: message.string for message in read_po(file) if message.id and message.string}


class _Blank(dict):
    def __missing__(self, key):
        return ""


def translate(lang: str, key: str, params: dict | None = None) -> str:
    """The text of a key in a language (English, then the key itself, when missing), with its parameters filled."""
    text = catalogue(lang if lang in LANGUAGES else DEFAULT).get(key) or catalogue("en").get(key) or key
    try:
        return text.format_map(_Blank(params or {}))
    except (ValueError, IndexError):
        return text


def language_of(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT


def language_asked(accept_language, default: str = "en") -> str:
    """The language an Accept-Language header prefers among ours (werkzeug's parsed header), else the default."""
    best = accept_language.best_match(["zh-CN", "zh", "en"]) if accept_language else None
    return "zh" if best and best.startswith("zh") else "en" if best else default
