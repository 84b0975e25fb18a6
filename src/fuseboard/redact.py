"""Known secret values, masked (``****``) in anything fuseboard stores or shows that came from outside.

Hook output, webhook answers and error text can repeat a token (a hook that prints its
environment, a deployer that echoes its request). Once such text is in the hash-chained audit
trail it can never be removed, so it is masked before it is stored or shown. Known secrets:

- ``FUSEBOARD_HOOK_TOKEN`` and ``FUSEBOARD_WEBHOOK_TOKEN``;
- the value of any environment variable whose name contains TOKEN, SECRET, PASSWORD, PASSWD,
  API_KEY, APIKEY, PRIVATE_KEY or CREDENTIAL (values of 6 characters or more, so that a
  ``..._TOKEN=false`` does not mask every "false");
- the password in a database URL (``FUSEBOARD_DB``, and the workspace's own, passed by the caller);
- values registered by the code that reads them (the ``[notify] token`` of the config file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

MASK = "****"
TOKEN_VARIABLES = ("FUSEBOARD_HOOK_TOKEN", "FUSEBOARD_WEBHOOK_TOKEN")
SECRET_VARIABLE = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
MIN_LENGTH = 4  # a named token shorter than this would mask ordinary text
MIN_GUESSED = 6  # for a variable that only looks secret by its name
NOT_SECRET = {"true", "false", "enabled", "disabled"}

_registered: set[str] = set()


def register(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (a token read from a file, say)."""
    if value and len(value) >= MIN_LENGTH:
        _registered.add(value)


def url_password(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def hide_url_password(text: str) -> str:
    """``text`` (a URL, perhaps one that does not parse) with the password of its user info shown as ``***``."""
    return re.sub(r"(://[^/?#@:]*:)[^/?#]*@", r"\1***@", text, count=1)


def secret_values(extra: Iterable[str | None] = ()) -> list[str]:
    """Every known secret value, longest first (so a secret containing another is masked whole)."""
    values = set(_registered)
    for name, value in os.environ.items():
        if name in TOKEN_VARIABLES:
            if len(value) >= MIN_LENGTH:
                values.add(value)
        elif SECRET_VARIABLE.search(name) and len(value) >= MIN_GUESSED and value.lower() not in NOT_SECRET:
            values.add(value)
    db_password = url_password(os.environ.get("FUSEBOARD_DB"))
    if db_password:
        values.add(db_password)
    values.update(v for v in extra if v and len(v) >= MIN_LENGTH)
    return sorted(values, key=len, reverse=True)


def mask(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret value replaced by ``****``."""
    if not text:
        return text
    for value in secret_values(extra):
        if value in text:
            text = text.replace(value, MASK)
    return text
