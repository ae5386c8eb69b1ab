r"""Credentials in URLs: how to recognise them and how to mask them (the one definition).

A URL carries a credential in two places:

- its **userinfo password**, ``PW`` in ``postgresql://analyst:PW@host/sales``;
- the value of a **credential query key**, ``K`` in ``...?sslpassword=K`` (see
  :func:`is_credential_key`), after ``?``, ``&`` or ``;`` (JDBC-style
  ``jdbc:sqlserver://h;user=u;password=K``), also written escaped: HTML
  (``&amp;password=``), JSON (``\u0026password=``) or %-encoded inside another
  value (``odbc_connect=...%3BPWD%3DK%3B...``).

Credential query keys are matched without regard to case and to ``_``, ``-``
and ``.`` (``X-Amz-Signature`` = ``x_amz_signature`` = ``xamzsignature``). A key
is one when it is one of :data:`CREDENTIAL_KEYS` or ends with one of
:data:`CREDENTIAL_SUFFIXES`. Keys that name a *file* of a credential
(``sslkey``, ``passfile``, ``private_key_file``) and harmless keys
(``sslmode``, ``threads``, ``page``) are not credentials.

:func:`mask_url` masks one URL given on its own (a ``--data`` value, a
parameter), written as it was given (no re-rendering): ``user:***@`` and
``password=***``. A **malformed** URL (a port that is no number, unbalanced
``[``, whitespace or an unencoded ``/``, ``#`` or ``@`` in the password, which
parsers split differently) has everything between ``://`` and its last ``@``
masked, user included, and its query credentials too.

:func:`mask_urls_in_text` masks every URL inside free text (an error message,
a notebook output), where a URL's end is not known: the userinfo password runs
to the last ``@`` before the host part ends, or else (an unencoded ``/``, ``?``
or ``#`` in it, which SQLAlchemy accepts) to the first ``@`` after it. It can
also replace given secrets wherever they appear (:func:`text_secrets`: the
credentials of known URLs that are safe to replace everywhere, see
:func:`is_weak_secret`).

This module imports only the standard library. The escaped forms of a *known*
password anywhere in a text, and the scan of written files for leaks, are
:mod:`salesnb.batch.redaction`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlsplit

MASK = "***"
MIN_TEXT_SECRET = 4
"""Secrets shorter than this are weak: masked only where they stand as a credential."""
COMMON_PASSWORDS = frozenset({
    "admin", "changeme", "default", "demo", "guest", "mysql", "oracle", "pass", "passwd",
    "password", "postgres", "root", "sales", "secret", "test", "user"})
"""Weak passwords: replacing these words everywhere would damage text."""

CREDENTIAL_KEYS = frozenset({
    "pass", "pw", "pwd", "key", "sig", "sas", "authorization", "credentials",
    "credentialsbase64", "credentialsinfo", "apikey", "accesskey", "secretkey", "privatekey",
    "accountkey", "masterkey", "subscriptionkey", "encryptionkey", "sharedaccesskey",
    "awssecretaccesskey"})
"""Credential query keys, normalised (lower case, without ``_``, ``-``, ``.``): ``key`` is an
API key (``?key=``), ``sig``/``sas`` Azure shared access signatures, ``pwd`` ODBC's password."""
CREDENTIAL_SUFFIXES = ("password", "passwd", "pwd", "secret", "token", "signature",
                       "apikey", "accesskey", "secretkey", "privatekey", "accountkey")
"""Normalised endings that make a query key a credential: ``sslpassword``,
``client_secret``, ``access_token``, ``auth_token``, ``X-Amz-Security-Token``,
``X-Amz-Signature``, ``api_key``, ``aws_secret_access_key``, ``private_key`` ..."""

_SCHEME = r"\b[A-Za-z][A-Za-z0-9+.\-]*://"
_USERINFO_PASSWORD = re.compile(
    rf"(?P<head>{_SCHEME}[^\s:/?#@\"'<>\\]*:)"
    r"(?P<password>(?:\\.|[^\s/?#\"'<>\\]| (?=[^\s/?#\"'<>@\\]+@))+(?=@)"
    r"|(?!\d*[/?#])(?:\\.|[^\s@\"'<>\\])+?(?=@))")
"""``scheme://user:`` and the password: to the last ``@`` of the host part (one space allowed
before its last word), else (not after a port) to the first ``@``."""
_ENCODED_USERINFO_PASSWORD = re.compile(
    r"\b[A-Za-z][A-Za-z0-9+.\-]*%3A%2F%2F(?:(?!%3A|%2F|%40)[^\s&/?#@\"'<>\\])*%3A"
    r"(?P<password>(?:(?!%2F|%3F|%23)[^\s&/?#@\"'<>\\])+)(?=%40)", re.I)
"""The same, %-encoded as a value inside another URL: ``next=postgresql%3A%2F%2Fu%3APW%40h``."""
_PAIR_HEAD = re.compile(
    r"(?P<sep>\?|&(?:amp;)*|&\#0*38;|&\#x0*26;|\\+u0026|\\+u003f"  # ? and & (HTML, JSON)
    r"|%26|%3f|%3b"                                                # %-encoded inside a value
    r"|;)"                                                         # ; (JDBC, ODBC)
    r"(?P<key>[a-z][\w.\-]*)"
    r"(?P<eq>=|%3d|\\+u003d|&\#0*61;|&\#x0*3d;|&equals;)", re.I)
_VALUE_CHAR = r"(?:\\+[\\/]|\\+u(?!0026|003[dfDF])[0-9a-fA-F]{4}|[^\s&#\"'<>\\%s])"
_VALUES = {
    "amp": re.compile(f"{_VALUE_CHAR % ''}+"),
    "semi": re.compile(f"{_VALUE_CHAR % ';'}+"),
    "encoded": re.compile(f"(?:(?!%26|%3[bB]){_VALUE_CHAR % ';'})+"),
}
"""Where a credential's value ends, by its separator: ``&`` (raw, HTML or JSON), also ``;``
after ``;``, also ``%26``/``%3B`` after a %-encoded separator."""


@dataclass(frozen=True)
class Credential:
    """One credential of a URL: where it is written and the forms it stands for.

    Attributes
    ----------
    start, end : int
        The place in the URL of the field it is (part of), as written (still %-encoded).
    forms : tuple of str
        The text as written first, then its %-decoded forms.
    where : str
        ``"userinfo"`` or the query key.
    """

    start: int
    end: int
    forms: tuple[str, ...]
    where: str


def is_credential_key(key: str) -> bool:
    """True for a query key whose value is a credential (``password``, ``X-Amz-Signature``).

    See :data:`CREDENTIAL_KEYS` and :data:`CREDENTIAL_SUFFIXES`.
    """
    name = re.sub(r"[_.\-]", "", unquote(key).strip().lower())
    return name in CREDENTIAL_KEYS or name.endswith(CREDENTIAL_SUFFIXES)


def is_well_formed(url: str) -> bool:
    """True when every parser reads the URL's host and userinfo alike (see the module doc).

    False for a port that is no number, unbalanced brackets, whitespace in the host part,
    or an ``@`` after the host part (an unencoded ``/`` or ``#`` in the password).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is no number)
    except ValueError:
        return False
    scheme, sep, rest = url.partition("://")
    if not sep or not rest.startswith(parts.netloc):  # urlsplit dropped tabs or newlines
        return False
    return (not any(ch.isspace() for ch in parts.netloc)
            and "@" not in parts.path and "@" not in parts.fragment)


def credentials(url: str) -> list[Credential]:
    """Every credential of one URL: its userinfo password and credential query values.

    A malformed URL's password is everything after the first ``:`` up to its last ``@``;
    an unencoded ``@`` in a password also yields the pieces around it (a parser that
    splits at the first ``@`` shows them apart, e.g. as a host name).
    """
    found = []
    userinfo = _userinfo(url)
    if userinfo is not None:
        _, start, end = userinfo
        password = url[start:end]
        found.append(Credential(start, end, _decoded(password, plus=False), "userinfo"))
        for piece in password.split("@") if "@" in password else ():
            if piece:
                found.append(Credential(start, end, _decoded(piece, plus=False), "userinfo"))
    for start, end, key in _query_values(url):
        if userinfo is None or not userinfo[0] <= start < userinfo[2]:
            found.append(Credential(start, end, _decoded(url[start:end], plus=True), key))
    return found


def is_weak_secret(secret: str, url: str = "", start: int = 0, end: int = 0) -> bool:
    """True for a secret that must not be replaced everywhere in a text.

    Weak: shorter than :data:`MIN_TEXT_SECRET`, a number of fewer than 6 digits, one of
    :data:`COMMON_PASSWORDS`, or found (any case) in ``url`` outside ``url[start:end]``
    (the secret's own place): ``postgres`` in ``postgresql://postgres:postgres@db``.
    """
    if len(secret) < MIN_TEXT_SECRET or secret.lower() in COMMON_PASSWORDS:
        return True
    if secret.isdigit() and len(secret) < 6:
        return True
    rest = unquote(url[:start] + url[end:]).lower()
    return secret.lower() in rest


def text_secrets(urls: Iterable[str]) -> tuple[str, ...]:
    """The credentials of ``urls`` (all forms) safe to replace anywhere, longest first.

    A credential with any weak form (:func:`is_weak_secret`) is left out whole.
    """
    found: set[str] = set()
    for url in urls:
        for item in credentials(url):
            if not any(is_weak_secret(f, url, item.start, item.end) for f in item.forms):
                found.update(item.forms)
    return tuple(sorted(found, key=lambda s: (-len(s), s)))


def mask_url(url: str) -> str:
    """The URL with every credential replaced by ``***``, written as given.

    ``postgresql://u:PW@h/db?sslmode=require&sslpassword=K`` ->
    ``postgresql://u:***@h/db?sslmode=require&sslpassword=***``; a malformed URL
    (``postgresql://u:pa ss@h:notaport/db``) -> ``postgresql://***@h:notaport/db``.
    A URL without credentials (``sqlite:///x.db``) is returned unchanged.
    """
    spans = [(u[0], u[2]) for u in [_userinfo(url)] if u is not None]
    spans += [(start, end) for start, end, _ in _query_values(url)]
    return _masked(url, spans)


def mask_urls_in_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the credentials of every URL in it masked, then every secret given.

    Parameters
    ----------
    text : str
        Free text: an error message, a log line, a notebook output.
    secrets : iterable of str
        Literal secrets to replace wherever they appear, e.g. ``text_secrets([url])`` of
        the URL the text is about (catches a password a driver echoes outside a URL).

    Returns
    -------
    str
        The text with ``user:***@`` and ``password=***`` (see the module docstring).
    """
    masked = _masked(text, credential_spans(text))
    for secret in sorted(set(secrets) - {""}, key=lambda s: (-len(s), s)):
        masked = masked.replace(secret, MASK)
    return masked


def credential_spans(text: str) -> list[tuple[int, int]]:
    """Where the userinfo passwords and credential query values of URLs in ``text`` are.

    ``(start, end)`` pairs, sorted (they may overlap): what :func:`mask_urls_in_text`
    replaces.
    """
    spans = [m.span("password") for m in _USERINFO_PASSWORD.finditer(text)]
    if "%" in text:
        spans += [m.span("password") for m in _ENCODED_USERINFO_PASSWORD.finditer(text)]
    spans += [(start, end) for start, end, _ in _query_values(text)]
    return sorted(spans)


def _userinfo(url: str) -> tuple[int, int, int] | None:
    """``(mask from, password from, to)`` of a URL's userinfo; None without a password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    start = len(scheme) + len(sep)
    if is_well_formed(url):
        userinfo = urlsplit(url).netloc.rpartition("@")[0]
        if ":" not in userinfo or userinfo.endswith(":"):
            return None
        begin = start + userinfo.index(":") + 1
        return begin, begin, start + len(userinfo)
    end = start + rest.rindex("@")
    field = url[start:end]
    begin = start + field.index(":") + 1 if ":" in field else start
    return (start, begin, end) if end > start else None


def _query_values(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, key)`` of every credential query value in ``text``."""
    pos = 0
    while (head := _PAIR_HEAD.search(text, pos)) is not None:
        pos = head.end()
        if not is_credential_key(head["key"]):
            continue
        sep = head["sep"].lower()
        kind = "encoded" if sep.startswith("%") else "semi" if sep == ";" else "amp"
        value = _VALUES[kind].match(text, head.end())
        if value is not None:
            yield value.start(), value.end(), head["key"]
            pos = value.end()


def _decoded(raw: str, plus: bool) -> tuple[str, ...]:
    """``raw`` and its %-decoded forms (also twice; in a query also with ``+`` as a space)."""
    forms = [raw, unquote(raw), *([unquote_plus(raw)] if plus else []), unquote(unquote(raw))]
    return tuple(dict.fromkeys(f for f in forms if f))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    parts, last = [], 0
    for start, end in _merged(spans):
        parts += [text[last:start], MASK]
        last = end
    return "".join([*parts, text[last:]])
