"""Chinese (default) and English from gettext catalogues, `translations/<lang>/LC_MESSAGES/*.po` (`messages.po` for
the shared words, one more domain per area such as `aftersales.po`, so areas grow their words without touching each
other's files), read with Babel when first needed, so a plain `pip install -e .` is enough; the choice is remembered in a cookie,
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
    """The words of a language by key, from its .po files (`messages.po` first; an area's domain may not redefine a key)."""
    folder = CATALOGUES / lang / "LC_MESSAGES"
    words: dict[str, str] = {}
    for path in sorted(folder.glob("*.po"), key=lambda path: (path.name != "messages.po", path.name)):
        with open(path, "rb") as file:
            for message in read_po(file):
                if message.id and message.string:
                    if message.id in words:
                        raise ValueError(f"{path.name} redefines {message.id!r}")
                    words[message.id] = message.string
    return words


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


def refusal(lang: str, error) -> str:
    """What a refused command says in a language: its words (refusals.po) when it carries a key, else its message;
    in Chinese, a parameter whose value has words of its own (`status:shipped`) is said in them."""
    key = getattr(error, "key", "")
    if not key:
        return str(error)
    params = getattr(error, "params", {})
    if lang == "en":  # English refusals name states as the domain does ("shipped"), as their messages always have
        return translate(lang, key, params)
    words = catalogue(lang if lang in LANGUAGES else DEFAULT)
    return translate(lang, key, {name: words.get(f"{name}:{value}", value) for name, value in params.items()})


def with_title(lang: str, code: str, detail: str, params: dict | None = None) -> str:
    """A refusal's kind (the words of its code) before its detail, unless the code has no words or both say the same."""
    title = translate(lang, code, params)
    if title == code:
        return detail
    if detail in ("", title):
        return title
    return translate(lang, "error_in_language", {"title": title, "detail": detail})


def language_of(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT


def language_asked(accept_language, default: str = "en") -> str:
    """The language an Accept-Language header prefers among ours (werkzeug's parsed header), else the default."""
    best = accept_language.best_match(["zh-CN", "zh", "en"]) if accept_language else None
    return "zh" if best and best.startswith("zh") else "en" if best else default
