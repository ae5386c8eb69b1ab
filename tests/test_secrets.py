"""Credentials in URLs (salesnb.secrets): every form recognised and masked, harmless URLs kept,
and no password of a database URL in what `salesnb validate` / `salesnb report` print.

The command-line tests connect to port 1 on the loopback address, where nothing listens: the
connection is refused at once and the error messages are what is checked.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from salesnb import secrets
from salesnb.cli import main
from salesnb.paths import DEMO_DIR
from salesnb.secrets import (
    credentials,
    is_credential_key,
    is_well_formed,
    mask_url,
    mask_urls_in_text,
    text_secrets,
)

CREDENTIAL_KEYS = [
    "password", "PASSWORD", "Password", "pwd", "PWD", "passwd", "pass", "pw", "secret", "token",
    "access_token", "auth_token", "refresh_token", "id_token", "api_key", "apikey", "API-Key",
    "x-api-key", "key", "sslpassword", "sslPassword", "client_secret", "sig", "sas", "sastoken",
    "X-Amz-Signature", "X-Amz-Security-Token", "aws_secret_access_key", "private_key",
    "AccountKey", "SharedAccessKey", "credentials_base64", "private_key_file_pwd",
    "authorization"]
HARMLESS_KEYS = [
    "sslmode", "sslkey", "sslcert", "sslrootcert", "passfile", "private_key_file", "token_file",
    "threads", "page", "keepalives", "application_name", "user", "username", "X-Amz-Credential",
    "X-Amz-Expires", "sv", "se", "authSource", "database", "host", "port", "keyspace"]
HARMLESS_URLS = [
    "sqlite:///x.db", "duckdb:///a.duckdb?threads=2", "https://example.com/?page=2",
    "file:///tmp/exports/deals.csv", "postgresql://analyst@127.0.0.1:5432/sales",
    "postgresql://127.0.0.1:5432/sales?sslmode=require&sslkey=/k/client.key&passfile=/k/pass",
    "postgresql://127.0.0.1:5432/sales?application_name=crm@night", "duckdb:///:memory:",
    "https://s3.example.com/b/k?X-Amz-Credential=AKIDEXAMPLE%2F20240101&X-Amz-Expires=60",
    "mongodb://127.0.0.1/db?authSource=admin&keyspace=k"]


# --------------------------------------------------------------------------- recognising

@pytest.mark.parametrize("key", CREDENTIAL_KEYS)
def test_credential_keys_are_recognised_in_any_case(key):
    assert is_credential_key(key)


@pytest.mark.parametrize("key", HARMLESS_KEYS)
def test_harmless_keys_are_not_credentials(key):
    assert not is_credential_key(key)


@pytest.mark.parametrize(("url", "well_formed"), [
    ("postgresql://u:pw@127.0.0.1:5432/db", True),
    ("postgresql://u:p@ss@127.0.0.1/db", True),          # urlsplit takes the last @
    ("postgresql://u:pw@[::1]:5432/db", True),
    ("postgresql://u:pa ss@127.0.0.1:notaport/db", False),
    ("postgresql://u:pw@[::1/db", False),
    ("postgresql://u:pa/ss@127.0.0.1/db", False),        # the password holds a /
    ("postgresql://u:12#34@127.0.0.1/db", False),        # ... or a #
])
def test_malformed_urls_are_recognised(url, well_formed):
    assert is_well_formed(url) is well_formed


def test_credentials_are_found_raw_and_decoded_with_the_pieces_of_an_unencoded_at():
    url = ("postgresql://u:p@ss99Word@127.0.0.1:1/db?sslmode=require&sslpassword=K3y%2BPhr%40se"
           "&api_key=ApiK3y777")
    found = {c.where: c.forms for c in credentials(url) if c.where != "userinfo"}
    assert found == {"sslpassword": ("K3y%2BPhr%40se", "K3y+Phr@se"), "api_key": ("ApiK3y777",)}
    userinfo = [c.forms for c in credentials(url) if c.where == "userinfo"]
    assert userinfo == [("p@ss99Word",), ("p",), ("ss99Word",)]
    assert set(text_secrets([url])) == {"p@ss99Word", "ss99Word", "K3y%2BPhr%40se", "K3y+Phr@se",
                                        "ApiK3y777"}  # "p" is too short to replace anywhere
    assert "K3y Phr@se" in credentials("h://x/?password=K3y+Phr%40se")[0].forms  # + is a space


def test_weak_secrets_are_not_text_secrets():
    assert text_secrets(["postgresql://postgres:postgres@127.0.0.1/postgres",
                         "duckdb:///a.duckdb?password=pw&token=1234&secret=admin"]) == ()


# --------------------------------------------------------------------------- mask_url

MASKED = [
    ("postgresql://u:PW@127.0.0.1/db", "postgresql://u:***@127.0.0.1/db"),
    ("postgresql+psycopg://analyst:s3c&r<e\"t-42@127.0.0.1:5432/sales",
     "postgresql+psycopg://analyst:***@127.0.0.1:5432/sales"),
    ("postgresql://u:p%40ss@127.0.0.1/db", "postgresql://u:***@127.0.0.1/db"),
    ("postgresql://u:S3cretPW@127.0.0.1:1/db?sslpassword=K3yPhrase99",
     "postgresql://u:***@127.0.0.1:1/db?sslpassword=***"),
    ("duckdb:///nope.duckdb?password=Hunter2Pass", "duckdb:///nope.duckdb?password=***"),
    ("postgresql://u@127.0.0.1/db?sslmode=require&PassWord=p%26ss%3Dx&threads=2",
     "postgresql://u@127.0.0.1/db?sslmode=require&PassWord=***&threads=2"),
    ("postgresql://u@127.0.0.1/db?password=semi;colon&x=1",  # ; is part of a ?-query value
     "postgresql://u@127.0.0.1/db?password=***&x=1"),
    ("jdbc:sqlserver://127.0.0.1:1433;databaseName=db;user=sa;password=Pw12345;encrypt=true",
     "jdbc:sqlserver://127.0.0.1:1433;databaseName=db;user=sa;password=***;encrypt=true"),
    ("mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Du%3BPWD%3Dp%40ssW0rd%3BEncrypt"
     "%3Dyes", "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Du%3BPWD%3D***%3BEncrypt"
     "%3Dyes"),
    ("https://127.0.0.1/c/b?sv=2020&sig=abc%2Bdef%3D&se=2024",
     "https://127.0.0.1/c/b?sv=2020&sig=***&se=2024"),
    ("https://127.0.0.1/b/k?X-Amz-Credential=AKID&X-Amz-Signature=deadbeef00",
     "https://127.0.0.1/b/k?X-Amz-Credential=AKID&X-Amz-Signature=***"),
    # malformed: everything between :// and the last @ is masked, and the query credentials
    ("postgresql://u:pa ss@127.0.0.1:notaport/db", "postgresql://***@127.0.0.1:notaport/db"),
    ("postgresql://u:pw@[::1/db", "postgresql://***@[::1/db"),
    ("postgresql://u:pa/ss@127.0.0.1/db?token=T0kenValue", "postgresql://***@127.0.0.1/db?token=***"),
    ("postgresql://u:p@ss@127.0.0.1/db", "postgresql://u:***@127.0.0.1/db"),  # well formed
]


@pytest.mark.parametrize(("url", "expected"), MASKED)
def test_mask_url_masks_every_credential(url, expected):
    assert mask_url(url) == expected


@pytest.mark.parametrize("key", CREDENTIAL_KEYS)
def test_mask_url_masks_each_credential_key(key):
    url = f"https://127.0.0.1/p?a=1&{key}=V4lue%40Secret&b=2"
    assert mask_url(url) == f"https://127.0.0.1/p?a=1&{key}=***&b=2"
    assert mask_url(url.replace("?a=1&", "?")) == f"https://127.0.0.1/p?{key}=***&b=2"
    assert mask_url(url.replace("&", ";")) == f"https://127.0.0.1/p?a=1;{key}=***;b=2"


@pytest.mark.parametrize("url", HARMLESS_URLS)
def test_harmless_urls_are_unchanged(url):
    assert mask_url(url) == url
    assert mask_urls_in_text(f"see {url} now") == f"see {url} now"
    assert credentials(url) == []


# --------------------------------------------------------------------------- free text

@pytest.mark.parametrize(("url", "expected"), MASKED)
def test_urls_inside_free_text_are_masked(url, expected):
    text = f"error: cannot connect to '{url}' (2 tries); also {url}"
    masked = mask_urls_in_text(text, text_secrets([url]))
    for item in credentials(url):
        assert not [f for f in item.forms if len(f) >= 4 and f in masked]
    assert masked.count("***") >= 2


@pytest.mark.parametrize("shown", [
    lambda u: u,
    html.escape,                                            # &amp;sslpassword=
    lambda u: html.escape(html.escape(u)),                  # &amp;amp;sslpassword=
    lambda u: u.replace("&", "&#38;"),
    lambda u: json.dumps({"url": u})[9:-2],                 # JSON: as is
    lambda u: json.dumps(u).replace("&", "\\u0026")[1:-1],  # JSON, html-safe: \u0026
    lambda u: html.escape(json.dumps({"url": u})),          # JSON in HTML
    lambda u: "next=" + quote(u, safe=""),                  # a %-encoded URL inside a URL
])
def test_query_credentials_are_masked_in_escaped_forms_without_knowing_them(shown):
    url = "postgresql://u:S3cretPW@127.0.0.1:1/db?sslmode=require&sslpassword=K3yPhrase99&x=1"
    masked = mask_urls_in_text(f"<p>{shown(url)}</p>")
    assert "K3yPhrase99" not in masked and "S3cretPW" not in masked
    assert "require" in masked and "x" in masked.rsplit("***", 1)[1]


def test_a_password_a_driver_echoes_outside_the_url_is_masked_when_given():
    url = "postgresql://u:p@ss99Word@127.0.0.1:1/db"
    message = "failed to resolve host 'ss99Word@127.0.0.1': Name or service not known"
    assert mask_urls_in_text(message) == message  # not a URL: only a known secret is found
    assert mask_urls_in_text(message, text_secrets([url])) == \
        "failed to resolve host '***@127.0.0.1': Name or service not known"


def test_an_unencoded_at_and_a_space_in_a_password_are_masked_in_text():
    assert mask_urls_in_text("url postgresql://u:p@ss@127.0.0.1/db, port 5432") == \
        "url postgresql://u:***@127.0.0.1/db, port 5432"
    assert mask_urls_in_text("bad postgresql://u:pa ss@127.0.0.1:notaport/db") == \
        "bad postgresql://u:***@127.0.0.1:notaport/db"
    assert mask_urls_in_text("sqlalchemy: postgresql://u:pa/ss@127.0.0.1/db") == \
        "sqlalchemy: postgresql://u:***@127.0.0.1/db"
    assert mask_urls_in_text("open http://localhost:8888 @team, ok") == \
        "open http://localhost:8888 @team, ok"


def test_only_one_definition_of_a_credential_key():
    from salesnb.batch import redaction

    assert redaction.MASK is secrets.MASK
    assert redaction.MIN_TEXT_SECRET is secrets.MIN_TEXT_SECRET
    assert redaction.COMMON_PASSWORDS is secrets.COMMON_PASSWORDS


# --------------------------------------------------------------------------- the command line

def secret_forms(secret: str) -> set[str]:
    """A secret as it may be shown: raw, %-encoded, HTML- and JSON-escaped, and its end."""
    return {secret, quote(secret, safe=""), html.escape(secret), json.dumps(secret)[1:-1],
            secret[-6:]}


@pytest.fixture(scope="module")
def database_mapping(tmp_path_factory) -> Path:
    """The demo's mapping with table names for sources: it reads a database."""
    text = (DEMO_DIR / "mapping.yml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("mapping") / "mapping.yml"
    path.write_text(re.sub(r"source: (\w+)\.(?:csv|parquet)", r"source: \1", text),
                    encoding="utf-8")
    return path


CLI_URLS = [
    pytest.param("postgresql://u:S3cretPW@127.0.0.1:1/db?sslpassword=K3yPhrase99",
                 ("S3cretPW", "K3yPhrase99"), id="sslpassword"),
    pytest.param("duckdb:///{tmp}/nope.duckdb?password=Hunter2Pass", ("Hunter2Pass",),
                 id="duckdb-password"),
    pytest.param("postgresql://u:p@ss99Word@127.0.0.1:1/db", ("p@ss99Word", "ss99Word"),
                 id="unencoded-at"),
    pytest.param("postgresql://u:p%40ssWord9@127.0.0.1:1/db", ("p%40ssWord9", "p@ssWord9"),
                 id="percent-encoded"),
    pytest.param("postgresql://u:pa ssW0rd@127.0.0.1:notaport/db", ("pa ssW0rd",),
                 id="malformed-port"),
    pytest.param("postgresql://u:Br4cketPW@[::1/db", ("Br4cketPW",), id="unbalanced-bracket"),
]


@pytest.mark.parametrize(("url", "passwords"), CLI_URLS)
def test_validate_never_prints_a_password(url, passwords, database_mapping, tmp_path, capsys):
    url = url.format(tmp=tmp_path)
    code = main(["validate", url, "--mapping", str(database_mapping)])
    out, err = capsys.readouterr()
    assert code == 1 and "database" in err
    shown = [form for p in passwords for form in secret_forms(p) if form in out + err]
    assert not shown, err


@pytest.mark.parametrize("engine", ["off", "on"])
@pytest.mark.parametrize(("url", "passwords"), CLI_URLS[:1])
def test_report_never_prints_a_password_of_its_data(url, passwords, engine, database_mapping,
                                                     tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SALESNB_ENGINE", raising=False)
    code = main(["report", "--data", url, "--mapping", str(database_mapping), "--engine", engine,
                 "--out", str(tmp_path / "reports"), "--name", "r", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1 and "database" in err, err
    assert not [form for p in passwords for form in secret_forms(p) if form in out + err], err
    assert not (tmp_path / "reports" / "r").exists()
    assert "SALESNB_ENGINE" not in os.environ  # the setting lasts as long as the run
