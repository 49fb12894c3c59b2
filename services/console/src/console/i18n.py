"""Message catalogs (gettext, through Babel): Japanese by default, English selectable.

The sources are English; `locale/<lang>/LC_MESSAGES/messages.po` translates them. The .po
files are compiled in memory when the console starts, so no compiled .mo file is kept in
the repository. Refresh the catalogs after changing texts (see the console's README).
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("ja", "en")
LOCALE_DIR = Path(__file__).with_name("locale")

_catalogs: dict[str, gettext_module.NullTranslations] = {}
_current: ContextVar[gettext_module.NullTranslations | None] = ContextVar(
    "translations", default=None
)
_SOURCE = gettext_module.NullTranslations()


def load(directory: Path = LOCALE_DIR) -> dict[str, gettext_module.NullTranslations]:
    """Compiles every catalog; English, the language of the sources, needs none."""
    for locale in LOCALES:
        po = directory / locale / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            _catalogs[locale] = gettext_module.NullTranslations()
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        _catalogs[locale] = gettext_module.GNUTranslations(compiled)
    return _catalogs


def activate(locale: str) -> None:
    """Texts of the current request in `locale` (a contextvar: one per request)."""
    if not _catalogs:
        load()
    _current.set(_catalogs.get(locale) or _catalogs["ja"])


def gettext(message: str) -> str:
    return (_current.get() or _SOURCE).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_current.get() or _SOURCE).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a text for the catalog that is translated later, where it is shown."""
    return message


def pick(requested: str | None, default: str) -> str:
    return requested if requested in LOCALES else default
