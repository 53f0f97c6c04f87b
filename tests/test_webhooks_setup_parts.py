"""The pieces under `webhooks register|status`: untrusted webhook/log answers read field by field,
several Sendo tokens accepted (each compared in constant time), and the config writer keeping a
user's file (comments, other keys, multi-line arrays) or refusing a layout it cannot edit."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.config import Secret, load
from tui.config_write import write_webhook_secrets
from tui.errors import ConfigError
from tui.providers.webhooks_api import log_row, sendo_hook, sentdm_hook
from tui.services.webhook_setup import public_base
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.signature import AuthFailure

MID = "0b5f3a52-1a43-4e2c-9d0e-7f6a2b1c3d4e"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_hostile_answers_never_raise(value: Any) -> None:
    for parse in (log_row, sentdm_hook, sendo_hook):
        parse(value)
        parse({"id": "x", "endpoint_url": "u", "url": "u", "event_data": value, **{"k": value}})


def test_log_row_reads_what_the_reconciler_needs() -> None:
    row = log_row(
        {
            "id": "r1",
            "event_type": "message.delivered",
            "event_data": {"payload": {"message_id": MID.upper()}},
            "delivery_status": "FAILED",
            "http_status_code": None,
            "delivery_attempts": 4,
            "created_at": "2026-01-01T00:00:00+00:00",
        }
    )
    assert row is not None and row.message_id == MID and row.failed and not row.in_flight
    ok = log_row({"id": "r2", "delivery_status": "delivered", "http_status_code": 200})
    assert ok is not None and not ok.failed
    retrying = log_row({"id": "r3", "delivery_status": "retrying", "http_status_code": 503})
    assert retrying is not None and retrying.failed and retrying.in_flight
    pending = log_row({"id": "r4", "delivery_status": "pending", "delivery_attempts": 0})
    assert pending is not None and not pending.failed and pending.in_flight
    odd = log_row(
        {"id": "r5", "http_status_code": True, "event_data": {"payload": {"message_id": "x; rm"}}}
    )
    assert odd is not None and odd.http_status is None and odd.message_id is None


def test_a_secret_is_read_only_when_asked_and_never_shown() -> None:
    data = {"id": "h", "endpoint_url": "https://x/webhooks/sentdm", "signing_secret": "whsec_abc"}
    assert sentdm_hook(data).secret is None  # type: ignore[union-attr]
    made = sentdm_hook(data, with_secret=True)
    assert made is not None and made.secret is not None and "whsec_abc" not in repr(made)


def test_several_sendo_tokens_are_each_accepted() -> None:
    creds = WebhookCredentials.from_values("", Secret("first-token-0001"), "second-token-02", "")
    assert creds.sendo_tokens == (b"first-token-0001", b"second-token-02")
    assert creds.sendo_token == b"first-token-0001"  # what a single-token caller compares
    creds.verify_sendo({"x-webhook-token": "second-token-02"})
    creds.verify_sendo({"x-webhook-token": "first-token-0001"})
    for headers in ({"x-webhook-token": "second-token-0"}, {}, {"x-webhook-token": "é"}):
        with pytest.raises(AuthFailure):
            creds.verify_sendo(headers)
    assert "token" not in repr(creds).replace("sendo_token", "")


def test_settings_tokens_reach_the_receiver(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[providers.sendo]\nwebhook_token = "aaa"\nwebhook_tokens = ["bbb", "ccc"]\n')
    creds = WebhookCredentials.from_settings(load(path, env={}))
    assert creds.sendo_tokens == (b"aaa", b"bbb", b"ccc")
    path.write_text('[providers.sentdm]\nwebhook_tokens = ["bbb"]\n')
    with pytest.raises(ConfigError, match="uses webhook_secret"):
        load(path, env={})
    path.write_text('[providers.sendo]\nwebhook_tokens = "bbb"\n')
    with pytest.raises(ConfigError, match="list of strings"):
        load(path, env={})


def test_the_writer_keeps_the_file_and_merges_tokens(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = (
        '# mine\n[providers.sendo]\nwebhook_tokens = [\n  "old",  # kept\n]\nburst = 3\n\n'
        '[ui]\ntheme = "textual-light"\n'
    )
    path.write_text(original)
    path.chmod(0o644)
    write_webhook_secrets(path, Secret("whsec_" + "A" * 44), (Secret("new"), Secret("old")))
    text = path.read_text()
    assert text.startswith("# mine\n") and 'theme = "textual-light"' in text and "burst = 3" in text
    settings = load(path, env={})
    assert [t.reveal() for t in settings.sendo.webhook_tokens] == ["old", "new"]
    assert settings.sentdm.webhook_secret.reveal() == "whsec_" + "A" * 44
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name != "config.toml"]  # no scratch left


def test_the_writer_refuses_a_layout_it_cannot_edit(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = "providers.sendo.burst = 3\n"  # dotted keys at the top: no [providers.sendo] header
    path.write_text(original)
    with pytest.raises(ConfigError, match="by hand"):
        write_webhook_secrets(path, None, (Secret("tok"),))
    assert path.read_text() == original


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.com", "ftp://x", "https://", "https://h.example/?a=1", "https://u:p@h"],
)
def test_public_base_refuses(url: str) -> None:
    with pytest.raises(ConfigError):
        public_base(url)


def test_public_base_accepts() -> None:
    assert public_base(" https://hooks.example.com/ ") == "https://hooks.example.com"
    assert public_base("http://127.0.0.1:8787") == "http://127.0.0.1:8787"
