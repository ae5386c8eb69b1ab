r"""Keeping database passwords out of everything a batch run writes or prints.

The passwords to hide are the credentials of the URLs among a run's inputs
(``--data``, ``--param`` values, also inside lists and dicts), as
:mod:`salesnb.secrets` defines them: the userinfo password, ``PW`` in
``postgresql://analyst:PW@host/sales``, and the value of every credential query
key, ``K`` in ``...?sslpassword=K`` or ``;password=K`` (:func:`find_secrets`),
each as written and %-decoded; a malformed URL's password is everything up to
its last ``@``. They come in two kinds, by whether it is safe to replace them
wherever they appear:

**Text secrets** are replaced by ``***`` wherever they appear in text, in
every form a notebook or a report can show them: raw, %-encoded,
HTML-escaped (``&amp;``, ``&lt;``, ``&quot;``, ``&#34;``, ``&#x22;``, also
escaped twice), JSON- or Python-escaped (``\\"``, ``\\\\``, ``\\u0026``) and
mixtures of these.

**URL-only secrets** are masked only where they stand as a URL's credential.
A password is URL-only when replacing it everywhere would damage the reports
(:func:`salesnb.secrets.is_weak_secret`):

- it is shorter than :data:`MIN_TEXT_SECRET` (4) characters;
- it is a number of fewer than 6 digits (it would mask figures);
- it is one of :data:`COMMON_PASSWORDS` (``postgres``, ``admin``, ...);
- it occurs (any case) in its own URL outside its field, e.g.
  ``postgres`` in ``postgresql://postgres:postgres@db``: replaced
  everywhere, it would turn every ``postgresql://`` into ``***ql://``.

Independently of the secrets found, the credentials of every URL in every
text are masked (``scheme://user:***@host``, ``?sslpassword=***``, also
HTML-escaped ``&amp;password=***`` and JSON-escaped ``\\u0026password=***``:
:func:`salesnb.secrets.mask_urls_in_text`), so a URL-only secret is hidden
wherever its URL is shown. A URL-only secret shown on its own, outside a URL,
is NOT found: that is the price of not damaging every report; use a longer,
not guessable password for unattended runs.

Binary images are never changed or searched: ``image/*`` values of notebook
outputs and attachments (base64; except ``image/svg+xml``, which is text and
is redacted) and ``data:...;base64,`` payloads inside HTML. A short password
matches base64 text by chance; replacing it would corrupt the image, and a
password inside a PNG's bytes is not readable there anyway.

Finally, :func:`find_leaks` (used on every file of a run before it is
published) looks for every secret of both kinds, in every form; a run with a
leak is never published.
"""

from __future__ import annotations

import contextlib
import html
import html.entities
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

from salesnb.secrets import (
    COMMON_PASSWORDS,
    MASK,
    MIN_TEXT_SECRET,
    credential_spans,
    credentials,
    is_weak_secret,
    mask_url,
    mask_urls_in_text,
)

__all__ = ["COMMON_PASSWORDS", "MASK", "MIN_TEXT_SECRET", "Secrets", "find_leaks",
           "find_secrets", "leaking_files", "masked", "notebook_leaks", "redact", "redact_text",
           "url_password"]

_BASE64_PAYLOAD = re.compile(r"data:[\w.+\-]+/[\w.+\-]+;base64,[A-Za-z0-9+/=\n]+")
_BACKSLASH_ESCAPED = frozenset("\"'\\/")


@dataclass(frozen=True)
class Secrets:
    """The passwords of a run, by kind (see the module docstring)."""

    text: tuple[str, ...] = ()
    url_only: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.text or self.url_only)


def find_secrets(values: Iterable[Any]) -> Secrets:
    """The credentials of the URL-like strings among ``values`` (raw and %-decoded forms).

    Strings inside lists, tuples and dict values are searched too; see
    :func:`salesnb.secrets.credentials` for what a URL's credentials are.
    """
    text: set[str] = set()
    url_only: set[str] = set()
    for value in _strings(values):
        if "://" not in value:
            continue
        for item in credentials(value):
            forms = set(item.forms)
            if any(is_weak_secret(form, value, item.start, item.end) for form in forms):
                url_only |= forms
            else:
                text |= forms
    return Secrets(_longest_first(text), _longest_first(url_only - text))


def url_password(url: str) -> str | None:
    """The password field of a URL as written (still %-encoded); None without one."""
    return next((url[c.start:c.end] for c in credentials(url) if c.where == "userinfo"), None)


def _strings(values: Iterable[Any]) -> Iterable[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _strings(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            yield from _strings(value)


def _longest_first(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values, key=lambda v: (-len(v), v)))


def redact(value: Any, secrets: Secrets) -> Any:
    """``value`` (text, or nested dicts/lists of it) with URL passwords and secrets masked.

    Dict values under an ``image/*`` key (base64 images of notebook outputs)
    are left alone, except ``image/svg+xml``.
    """
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: v if _binary_image(k) else redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v, secrets) for v in value)
    return value


def redact_text(text: str, secrets: Secrets) -> str:
    """``text`` with every URL's credentials and every text secret replaced by ``***``.

    ``data:...;base64,`` payloads are kept as they are.
    """
    pattern = _text_pattern(secrets.text)

    def clean(part: str) -> str:
        part = mask_urls_in_text(part)
        return pattern.sub(MASK, part) if pattern is not None else part

    return _outside_base64(text, clean)


def masked(value: Any, secrets: Secrets) -> Any:
    """A parameter value safe to show: URLs masked (``mask_url``), then secrets redacted."""
    if isinstance(value, str) and "://" in value:
        value = mask_url(value)
    return redact(value, secrets)


def find_leaks(text: str, secrets: Secrets) -> int:
    """How many times a secret shows in ``text`` (any kind, any form; never the secret itself).

    Text secrets count anywhere outside base64 payloads; URL-only secrets
    count where they stand as a URL's credential (password field or credential
    query value, :func:`salesnb.secrets.credential_spans`).
    """
    if not secrets:
        return 0
    pattern = _text_pattern(secrets.text)
    known = set(secrets.text) | set(secrets.url_only)
    found = 0

    def count(part: str) -> str:
        nonlocal found
        if pattern is not None:
            found += sum(1 for _ in pattern.finditer(part))
        found += sum(1 for start, end in credential_spans(part)
                     if _unescaped(part[start:end]) & known)
        return part

    _outside_base64(text, count)
    return found


def notebook_leaks(notebook: Any, secrets: Secrets) -> int:
    """:func:`find_leaks` over a notebook's text (a dict as in JSON), without binary images."""
    return find_leaks("\n".join(_texts(notebook)), secrets)


def leaking_files(paths: Iterable[Path], secrets: Secrets) -> list[Path]:
    """The files among ``paths`` that show a secret (see :func:`find_leaks`).

    A ``.ipynb`` file is searched as the notebook it holds, without its
    binary images; every other file as text.
    """
    leaking = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            with contextlib.suppress(ValueError):  # not JSON after all: searched as text
                text = "\n".join(_texts(json.loads(text)))
        if find_leaks(text, secrets):  # no image/* values left in a notebook's text
            leaking.append(path)
    return leaking


def _texts(value: Any) -> Iterable[str]:
    """Every string in a JSON value, except binary ``image/*`` values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            if not _binary_image(key):
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _unescaped(field: str) -> set[str]:
    """A URL credential as written in some text, in the forms it may stand for."""
    text = html.unescape(html.unescape(field))
    text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
    text = re.sub(r"\\(.)", r"\1", text)
    return {field, text, unquote(text), unquote_plus(text)}


def _binary_image(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("image/") and key != "image/svg+xml"


def _outside_base64(text: str, func) -> str:
    """Apply ``func`` to the parts of ``text`` between ``data:...;base64,`` payloads."""
    if "base64," not in text:
        return func(text)
    parts, last = [], 0
    for match in _BASE64_PAYLOAD.finditer(text):
        parts.append(func(text[last:match.start()]))
        parts.append(match.group())
        last = match.end()
    parts.append(func(text[last:]))
    return "".join(parts)


@lru_cache(maxsize=32)
def _text_pattern(secrets: Sequence[str]) -> re.Pattern[str] | None:
    """One regex matching every text secret in every escaped form (longest first)."""
    if not secrets:
        return None
    return re.compile("|".join("".join(_char_pattern(ch) for ch in secret)
                               for secret in secrets))


@lru_cache(maxsize=512)
def _char_pattern(ch: str) -> str:
    """A regex for one character of a secret: raw or escaped (HTML, JSON, Python, %)."""
    code = ord(ch)
    names = [name[:-1] for name, value in html.entities.html5.items()
             if value == ch and name.endswith(";")]
    entity = "|".join([*map(re.escape, names), f"#0*{code}", f"#[xX]0*(?i:{code:x})"])
    alternatives = [re.escape(ch), f"&(?:amp;)*(?:{entity});"]
    if ch in _BACKSLASH_ESCAPED:  # JSON/Python escapes, also of HTML-escaped text: \\&quot;
        alternatives = [r"\\*(?:" + "|".join(alternatives) + ")"]
    if code < 0x10000:
        alternatives.append(rf"\\+u(?i:{code:04x})")
    if code < 0x100:
        alternatives.append(rf"\\+x(?i:{code:02x})")
    alternatives.append("".join(f"%(?i:{byte:02x})" for byte in ch.encode("utf-8")))
    return "(?:" + "|".join(alternatives) + ")"
