"""Writing the config file: the starter `config init` creates, and the webhook credentials
`webhooks register` adds to a user's file (mode 0600, every other line kept).

Apart from `config.py`, which only reads: writing is rare, and keeping it here keeps the strict
reader small.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import tomli_w

from tui.config import (
    DEFAULT_BASE_URLS,
    HistorySettings,
    PollingSettings,
    Settings,
    UiSettings,
    load,
)
from tui.errors import ConfigError
from tui.model import Provider
from tui.secret import Secret


def starter_document() -> dict[str, Any]:
    """The file `config init` writes: every provider section, keys left empty."""
    return {
        "providers": {
            "sentdm": {
                "api_key": "",
                "base_url": DEFAULT_BASE_URLS[Provider.SENTDM],
                "profile_id": "",
            },
            "sendo": {"api_key": "", "base_url": DEFAULT_BASE_URLS[Provider.SENDO]},
        },
        "polling": {
            "min_interval": PollingSettings.min_interval,
            "max_interval": PollingSettings.max_interval,
        },
        "history": {"retention_days": HistorySettings.retention_days},
        "ui": {"theme": UiSettings.theme},
    }


def write_starter(path: Path, *, force: bool = False) -> Path:
    """Create the config file with mode 0600 (it will hold API keys). Never overwrites without force."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to overwrite it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# sendwatch configuration. Every option is described in config.toml.example.\n"
        "# API keys may instead come from SENT_DM_API_KEY and SENDO_API_KEY.\n\n"
    )
    payload = header + tomli_w.dumps(starter_document())
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, payload.encode("utf-8"))
    finally:
        os.close(fd)
    return path


def write_webhook_secrets(
    path: Path, sentdm_secret: Secret | None, sendo_tokens: tuple[Secret, ...] = ()
) -> Path:
    """Put the webhook credentials into the config file (created if missing), mode 0600.

    Only `providers.sentdm.webhook_secret` and `providers.sendo.webhook_tokens` lines change (the
    tokens are merged with those already there); every other line, comment included, is kept.
    The result is read back before it replaces the file: a layout this cannot edit safely is
    refused with the file left as it was."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    current = load(path, env={}) if text else None
    if sentdm_secret:
        text = _set_key(text, "providers.sentdm", "webhook_secret", sentdm_secret.reveal())
    if sendo_tokens:
        known = [t.reveal() for t in current.sendo.webhook_tokens] if current else []
        merged = known + [t.reveal() for t in sendo_tokens if t.reveal() not in known]
        text = _set_key(text, "providers.sendo", "webhook_tokens", merged)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = load_text(text, path)
    except ConfigError:
        written = None
    if written is None or (
        (sentdm_secret and written.sentdm.webhook_secret != sentdm_secret)
        or not set(sendo_tokens) <= set(written.sendo.webhook_tokens)
    ):
        raise ConfigError(
            f"{path}: cannot add the webhook credentials to this file's layout; set "
            "providers.sentdm.webhook_secret and providers.sendo.webhook_tokens by hand"
        )
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return path


def load_text(text: str, path: Path) -> Settings:
    """`load` of `text` as if it were `path` (no environment): checks a file before writing it."""
    scratch = path.with_name(f".{path.name}.check{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.close(fd)
        return load(scratch, env={})
    finally:
        scratch.unlink(missing_ok=True)


def _set_key(text: str, section: str, key: str, value: Any) -> str:
    """Replace `key = …` inside `[section]` (an array may span lines), or add it (and the section).

    JSON's spelling of a string or a list of strings is TOML's too (basic strings, inline array)."""
    line = f"{key} = {json.dumps(value)}"
    lines = text.splitlines()
    current, header = "", None
    for number, raw in enumerate(lines):
        stripped = raw.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped.strip("[]").strip()
            header = number if current == section else header
        elif current == section and stripped.split("=", 1)[0].strip().strip('"') == key:
            end = number
            if stripped.split("=", 1)[-1].strip().startswith("[") and "]" not in stripped:
                while end + 1 < len(lines) and "]" not in lines[end]:
                    end += 1  # the rest of a multi-line array
            lines[number : end + 1] = [line]
            return "\n".join(lines) + "\n"
    if header is None:
        return "\n".join([*lines, "", f"[{section}]", line]).lstrip("\n") + "\n"
    lines.insert(header + 1, line)
    return "\n".join(lines) + "\n"
