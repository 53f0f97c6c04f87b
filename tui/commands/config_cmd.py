"""`sendwatch config path | init | check`."""

from __future__ import annotations

from pathlib import Path

from tui import config as cfg
from tui.commands.output import fail
from tui.config_write import write_starter
from tui.errors import ConfigError, SendwatchError
from tui.model import Provider
from tui.textsafe import safe_text


def run(action: str, path: Path, force: bool) -> int:
    if action == "path":
        print(path)
        return 0
    if action == "init":
        try:
            written = write_starter(path, force=force)
        except ConfigError as exc:
            return fail(str(exc), 2)
        except OSError as exc:
            return fail(f"cannot write {path}: {exc.strerror}", 2)
        print(
            f"wrote {written} (mode 0600). Add your API keys there, or set SENT_DM_API_KEY / SENDO_API_KEY."
        )
        return 0
    try:
        settings = cfg.load(path)
    except ConfigError as exc:
        return fail(str(exc), 2)
    print(
        f"config file: {safe_text(path, single_line=True)} ({'found' if settings.file_exists else 'not found: using defaults and environment'})"
    )
    for provider in Provider:
        p = settings.provider(provider)
        if p.configured and not p.api_key:  # only named accounts, each with its own key
            print(
                f"  {provider.label:<8} configured   {len(p.accounts)} named account(s), "
                f"{safe_text(p.base_url, single_line=True)}"
            )
        elif p.configured:
            extra = f", profile {safe_text(p.profile_id, single_line=True)}" if p.profile_id else ""
            print(
                f"  {provider.label:<8} configured   key {p.api_key.redacted()} from {p.key_source}, "
                f"{safe_text(p.base_url, single_line=True)}{extra}"
            )
        else:
            vars_ = " or ".join(cfg.ENV_KEYS[provider][:1])
            print(
                f"  {provider.label:<8} not configured (set {vars_} or providers.{provider.value}.api_key)"
            )
        accounts = p.account_settings()
        if len(accounts) > 1 or p.accounts:
            for name, account in accounts.items():
                profile = (
                    f", profile {safe_text(account.profile_id, single_line=True)}"
                    if account.profile_id
                    else ""
                )
                print(
                    f"  {'':<8} account      {name}: key from {account.key_source or 'nowhere'}{profile}"
                )
        secret = p.webhook_secret if provider is Provider.SENTDM else p.webhook_token
        if secret:
            print(
                f"  {'':<8} webhooks     {'secret' if provider is Provider.SENTDM else 'token'} {secret.redacted()} "
                "(sendwatch listen serves /webhooks/" + provider.value + ")"
            )
    for (
        line
    ) in settings.alerts.describe():  # the rules in force (defaults when none are configured)
        print(safe_text(line, single_line=True))
    if settings.ui.read_only:
        print(f"read-only mode: on ({safe_text(settings.read_only_source, single_line=True)})")
    healthy = _report_store(settings)
    if not settings.configured_providers():
        print(
            "No provider has a key yet: the dashboard will explain how to add one (or try `sendwatch --demo`)."
        )
    return 0 if healthy else 2


def _report_store(settings: cfg.Settings) -> bool:
    """The history: backend, reachable or not, schema version (a password in a URL is never shown)."""
    from tui.store.open import describe, open_store

    where = safe_text(describe(settings), single_line=True)
    try:
        store = open_store(settings)
    except SendwatchError as exc:  # every store failure is a StoreError naming the cause
        print(
            f"history: {where}: NOT reachable: {safe_text(str(exc), single_line=True, limit=300)}"
        )
        return False
    try:
        for warning in store.warnings:
            print(f"history: {safe_text(warning, single_line=True, limit=300)}")
        count = store.count()
    except SendwatchError as exc:
        print(f"history: {where}: NOT usable: {safe_text(str(exc), single_line=True, limit=300)}")
        return False
    finally:
        store.close()
    print(f"history: {where}: reachable, schema version {store.schema_version}, {count} messages")
    return True
