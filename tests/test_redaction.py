"""Passwords of URL parameters (userinfo and credential query keys): found, masked in every
escaped form, never damaging the rest; a whole run's files show none of them.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from salesnb.batch import redaction
from salesnb.batch.redaction import (
    Secrets,
    find_leaks,
    find_secrets,
    leaking_files,
    redact,
    url_password,
)
from salesnb.cli import main

OVERVIEW = Path(__file__).resolve().parent / "fixtures" / "notebooks" / "01_overview.ipynb"

PASSWORD = 's3c&r<e"t-42'
URL = f"postgresql://analyst:{PASSWORD}@localhost:5432/sales"


def test_secrets_are_found_in_urls_raw_and_decoded():
    found = find_secrets(["postgresql://u:p%40ss@h/db", "plain text", 3, None])
    assert set(found.text) == {"p%40ss", "p@ss"} and found.url_only == ()
    assert redact({"a": ["x p@ss y"]}, found) == {"a": ["x *** y"]}


@pytest.mark.parametrize("form", [
    PASSWORD,
    html.escape(PASSWORD),                                  # &amp; &lt; &quot;
    html.escape(PASSWORD, quote=False),
    html.escape(html.escape(PASSWORD)),                     # escaped twice
    "s3c&#38;r&#x3C;e&#34;t-42",                            # numeric entities (markupsafe: &#34;)
    json.dumps(PASSWORD)[1:-1],                             # JSON: \"
    json.dumps(json.dumps(PASSWORD))[3:-3],                 # JSON in JSON: \\\"
    html.escape(json.dumps(PASSWORD))[6:-6],                # JSON in HTML: \&quot;
    json.dumps(PASSWORD, ensure_ascii=True).replace("&", "\\u0026")[1:-1],
    "s3c%26r%3Ce%22t-42",                                   # %-encoded
])
def test_every_escaped_form_of_a_password_is_masked(form):
    secrets = find_secrets([URL])
    text = f"<p>before {form} after</p>"
    assert find_leaks(text, secrets) == 1
    assert redact(text, secrets) == "<p>before *** after</p>"
    assert find_leaks(redact(text, secrets), secrets) == 0


def test_every_url_password_field_is_masked_even_html_escaped():
    text = f"see {URL} and {html.escape(URL)}; other: mysql://me:hunter22@db/x"
    assert redact(text, Secrets()).endswith(
        "and postgresql://analyst:***@localhost:5432/sales; other: mysql://me:***@db/x")
    masked = redact(text, find_secrets([URL]))
    assert masked == ("see postgresql://analyst:***@localhost:5432/sales and "
                      "postgresql://analyst:***@localhost:5432/sales; other: mysql://me:***@db/x")


@pytest.mark.parametrize(("url", "password"), [
    ("postgresql://postgres:postgres@db:5432/postgres", "postgres"),  # a word of its URL
    ("postgresql://analyst:pw@db/sales", "pw"),                       # shorter than 4
    ("postgresql://analyst:admin@db/sales", "admin"),                 # a common password
    ("postgresql://analyst:1234@db/sales", "1234"),                   # a short number
    ("postgresql://sales:sales@db/crm", "sales"),
])
def test_short_or_common_passwords_are_masked_only_inside_urls(url, password):
    secrets = find_secrets([url])
    assert secrets.text == () and password in secrets.url_only
    image = base64.b64encode(password.encode() * 50).decode()
    text = (f"connect to {url}: postgresql:// with {password} in prose, 12345678, "
            f'<img src="data:image/png;base64,{image}">')
    masked = redact(text, secrets)
    assert masked == text.replace(url, url.replace(f":{password}@", ":***@"))
    assert find_leaks(text, secrets) == 1 and find_leaks(masked, secrets) == 0


def test_binary_images_are_left_alone_and_svg_is_redacted():
    secrets = find_secrets([URL])
    png = base64.b64encode(b"\x89PNG" + PASSWORD.encode()).decode()
    output = {"image/png": PASSWORD, "image/jpeg": png, "image/svg+xml": f"<text>{PASSWORD}"
              "</text>", "text/plain": PASSWORD}
    assert redact(output, secrets) == {"image/png": PASSWORD, "image/jpeg": png,
                                       "image/svg+xml": "<text>***</text>", "text/plain": "***"}


def test_leaking_files_reads_notebooks_without_their_images(tmp_path):
    secrets = find_secrets(["postgresql://u:Zq9x@h/db"])
    image = "AAAAZq9xAAAA"  # the 4-character password by chance inside base64
    clean = {"cells": [{"outputs": [{"data": {"image/png": image, "text/plain": "ok"}}]}]}
    leaky = {"cells": [{"outputs": [{"data": {"text/plain": "pw Zq9x"}}]}]}
    paths = []
    for name, payload in (("clean.ipynb", clean), ("leaky.ipynb", leaky)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(payload))
    page = tmp_path / "page.html"
    page.write_text(f'<img src="data:image/png;base64,{image}">')
    assert leaking_files([*paths, page], secrets) == [tmp_path / "leaky.ipynb"]


def test_no_secrets_change_nothing_but_url_passwords():
    assert redaction.redact_text("plain postgresql://h/db text", Secrets()) == \
        "plain postgresql://h/db text"
    assert find_leaks("anything", Secrets()) == 0


# --------------------------------------------------------------------------- query credentials

QUERY_SECRET = 'K3y&Phr<ase"99'  # needs %-encoding in a URL, HTML and JSON escaping in text
QUERY_URL = ("postgresql://u:S3cretPW@127.0.0.1:1/db?sslmode=require"
             f"&sslpassword={quote(QUERY_SECRET, safe='')}&x=1")


def test_query_credentials_are_secrets_raw_and_decoded_also_inside_lists():
    found = find_secrets([QUERY_URL, {"more": ["duckdb:///a.duckdb?threads=2&token=Hunter2Pass"]},
                          "postgresql://u@127.0.0.1/db?password=pw1", ("plain", 3)])
    assert set(found.text) == {"S3cretPW", quote(QUERY_SECRET, safe=""), QUERY_SECRET,
                               "Hunter2Pass"}
    assert found.url_only == ("pw1",)  # too short to replace anywhere


@pytest.mark.parametrize("url", [
    "postgresql://u:pa ss99@127.0.0.1:notaport/db",   # malformed port: up to the last @
    "postgresql://u:pa ss99@[::1/db",                 # unbalanced bracket
    "postgresql://u:pa/ss99@127.0.0.1/db",            # an unencoded /
])
def test_passwords_of_malformed_urls_are_secrets(url):
    assert find_secrets([url]).text == (url_password(url),)
    assert url_password(url) in {"pa ss99", "pa/ss99"}


def test_the_pieces_around_an_unencoded_at_are_secrets():
    secrets = find_secrets(["postgresql://u:p@ss99Word@127.0.0.1:1/db"])
    assert set(secrets.text) == {"p@ss99Word", "ss99Word"} and secrets.url_only == ("p",)
    message = "cannot read: failed to resolve host 'ss99Word@127.0.0.1'"
    assert find_leaks(message, secrets) == 1
    assert redact(message, secrets) == "cannot read: failed to resolve host '***@127.0.0.1'"


@pytest.mark.parametrize("shown", [
    lambda u: u,
    html.escape,                                              # &amp;sslpassword=
    lambda u: html.escape(html.escape(u)),                    # &amp;amp;sslpassword=
    lambda u: u.replace("&", "&#38;"),                        # numeric entity
    lambda u: json.dumps(u)[1:-1],                            # JSON
    lambda u: json.dumps(u).replace("&", "\\u0026")[1:-1],    # JSON, html-safe: \u0026
    lambda u: json.dumps(json.dumps(u))[3:-3],                # JSON in JSON
    lambda u: html.escape(json.dumps({"db": u})),             # JSON in HTML
    lambda u: "next=" + quote(u, safe=""),                    # %-encoded inside another URL
], ids=["raw", "html", "html2", "entity", "json", "json-u0026", "json2", "json-html", "pct"])
def test_every_escaped_form_of_a_query_credential_is_counted_then_masked(shown):
    secrets = find_secrets([QUERY_URL])
    text = f"<p>Database: {shown(QUERY_URL)}</p>"
    assert find_leaks(text, secrets) >= 1
    for known in (secrets, Secrets()):  # masked even when the secret is not known
        masked = redact(text, known)
        assert find_leaks(masked, secrets) == 0
        assert "S3cretPW" not in masked and "K3y" not in masked and "Phr" not in masked
        assert "require" in masked


@pytest.mark.parametrize("key", ["password", "PWD", "sslpassword", "token", "access_token",
                                 "api_key", "apikey", "key", "client_secret", "sig",
                                 "X-Amz-Signature", "aws_secret_access_key", "private_key"])
def test_each_credential_key_is_a_secret_counted_and_masked(key):
    url = f"https://127.0.0.1/x?page=2&{key}=Zq9xW77y&sslmode=require"
    secrets = find_secrets([url])
    assert secrets.text == ("Zq9xW77y",)
    text = f"{html.escape(url)} and the value alone: Zq9xW77y"
    assert find_leaks(text, secrets) == 3  # the text secret twice, the URL's field once
    assert redact(text, secrets) == html.escape(url.replace("Zq9xW77y", "***")) + \
        " and the value alone: ***"


def test_weak_query_credentials_are_masked_only_inside_urls():
    url = "duckdb:///a.duckdb?threads=2&password=pw1"
    secrets = find_secrets([url])
    assert secrets.text == () and secrets.url_only == ("pw1",)
    text = f"pw1 in prose, then {url} and {html.escape(url + '&x=1')}"
    masked = redact(text, secrets)
    assert masked == ("pw1 in prose, then duckdb:///a.duckdb?threads=2&password=*** and "
                      "duckdb:///a.duckdb?threads=2&amp;password=***&amp;x=1")
    assert find_leaks(text, secrets) == 2 and find_leaks(masked, secrets) == 0


@pytest.mark.parametrize("url", ["sqlite:///x.db", "duckdb:///a.duckdb?threads=2",
                                 "https://example.com/?page=2",
                                 "postgresql://127.0.0.1:5432/db?sslmode=require&sslkey=/k.pem"])
def test_harmless_urls_are_neither_secrets_nor_changed(url):
    assert not find_secrets([url])
    assert redact(f"<a href='{html.escape(url)}'>{url}</a>", Secrets()) == \
        f"<a href='{html.escape(url)}'>{url}</a>"


def test_masked_parameters_hide_query_credentials():
    secrets = find_secrets([QUERY_URL])
    assert redaction.masked(QUERY_URL, secrets) == \
        "postgresql://u:***@127.0.0.1:1/db?sslmode=require&sslpassword=***&x=1"


def test_leaking_files_find_query_credentials(tmp_path):
    secrets = find_secrets(["duckdb:///a.duckdb?api_key=ApiK3y777"])
    notebook = {"cells": [{"outputs": [{"text": "duckdb:///a.duckdb?api_key=ApiK3y777"}]}]}
    (tmp_path / "a.ipynb").write_text(json.dumps(notebook))
    (tmp_path / "b.html").write_text("<p>duckdb:///a.duckdb?threads=1&amp;api_key=ApiK3y777</p>")
    (tmp_path / "c.json").write_text(json.dumps({"url": "duckdb:///a.duckdb?api_key=***"}))
    assert leaking_files(sorted(tmp_path.iterdir()), secrets) == [tmp_path / "a.ipynb",
                                                                  tmp_path / "b.html"]


# --------------------------------------------------------------------------- a whole run

RUN_URL = ("postgresql://analyst:Us3rPassW0rd@127.0.0.1:1/sales?sslmode=require"
           f"&sslpassword={quote(QUERY_SECRET, safe='')}&api_key=ApiK3y777x")


@pytest.mark.slow
def test_query_credentials_of_a_param_never_reach_any_file_of_the_run(small_demo, tmp_path):
    """Like tests/test_reports.py's password test, with credentials in the URL's query."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", "--data", str(small_demo), "--notebooks", str(OVERVIEW),
                     "--param", f"db_url={RUN_URL}", "--out", str(tmp_path), "--name", "q",
                     "--no-progress"])
    assert code == 0, err.getvalue()
    folder = tmp_path / "q"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"index.html", "manifest.json", "01_overview.ipynb",
                                       "01_overview.html"}
    forms = {form for secret in ("Us3rPassW0rd", QUERY_SECRET, "ApiK3y777x")
             for form in (secret, quote(secret, safe=""), html.escape(secret),
                          json.dumps(secret)[1:-1], html.escape(json.dumps(secret))[6:-6],
                          secret[-5:])}
    texts = {p: p.read_text(errors="replace") for p in files}
    assert not [(p.name, form) for p, text in texts.items() for form in forms if form in text]
    assert not [form for form in forms if form in out.getvalue() + err.getvalue()]
    masked = "postgresql://analyst:***@127.0.0.1:1/sales?sslmode=require&sslpassword=***&api_key=***"
    assert json.loads((folder / "manifest.json").read_text())["parameters"]["db_url"] == masked
    page = texts[folder / "all" / "01_overview.html"]
    assert f"Database: {html.escape(masked)}" in page or f"Database: {masked}" in page
