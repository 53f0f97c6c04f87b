"""Where sendwatch keeps its files: one module, so `config path` and the docs never disagree."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "sendwatch"
CONFIG_ENV = "SENDWATCH_CONFIG"
DATA_ENV = "SENDWATCH_DATA_DIR"


def config_file() -> Path:
    """`$SENDWATCH_CONFIG`, else the platform's user config dir (XDG on Linux)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def data_dir() -> Path:
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def default_history_file() -> Path:
    return data_dir() / "history.sqlite3"
