"""Passwords of URL parameters: found, masked in every escaped form, never damaging the rest."""

from __future__ import annotations

import base64
import html
import json

import pytest

from salesnb.batch import redaction
from salesnb.batch.redaction import Secrets, find_leaks, find_secrets, leaking_files, redact

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
