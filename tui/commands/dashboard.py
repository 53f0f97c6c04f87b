"""Starting the dashboard: normally, as the demo, or watching a file of IDs.

Start-up is measured (benchmarks/bench_ui.py): the plain `sendwatch` path imports only what the
dashboard needs, and the app itself once its first page is being read; the demo's and `watch`'s
own modules load in their functions.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.config import Settings
from tui.errors import SendwatchError
from tui.store import ListFilter, SQLiteStore, Store
from tui.textsafe import safe_text

if TYPE_CHECKING:
    from tui.app.app import SendwatchApp
    from tui.importers import ImportResult
    from tui.model import Provider
    from tui.services.campaigns import Imported, TrackedCampaign


def fail(message: str, code: int) -> int:
    from tui.commands.output import fail as say

    return say(message, code)


def _open_store(settings: Settings) -> Store | None:
    from tui.store.open import describe, open_store

    try:
        return open_store(settings)
    except SendwatchError as exc:
        print(f"sendwatch: {safe_text(exc)}", file=sys.stderr)
        return None
    except Exception as exc:  # noqa: BLE001 - e.g. a read-only disk: say so, do not trace back
        print(
            f"sendwatch: cannot open the history ({safe_text(describe(settings))}): {exc.__class__.__name__}: "
            f"{safe_text(exc)}",
            file=sys.stderr,
        )
        return None


def open_dashboard(
    settings: Settings,
    store: Store,
    initial_filter: ListFilter | None = None,
    **options: Any,
) -> SendwatchApp:
    """The dashboard on an open history. Its first page is read in a thread right away, while
    Textual and the app are imported: the first frame can show the list without waiting."""
    from tui.app.list_model import read_ahead

    campaign = options.get("campaign")
    first_view = read_ahead(store, initial_filter or ListFilter(campaign=campaign))
    from tui.app.app import SendwatchApp

    return SendwatchApp(
        settings, store, initial_filter=initial_filter, first_view=first_view, **options
    )


def run(
    settings: Settings,
    initial_filter: ListFilter | None = None,
    *,
    demo: bool = False,
    campaign: str | None = None,
    notes: list[str] | None = None,
    listen: tuple[str, int] | None = None,
    discover: str | None = None,
) -> int:
    store = _open_store(settings)
    if store is None:
        return 2
    app = open_dashboard(
        settings,
        store,
        initial_filter,
        demo=demo,
        campaign=campaign,
        startup_notes=notes,
        listen=listen,
        discover=discover,
    )
    try:
        app.run()
    except Exception as exc:  # noqa: BLE001 - outside the app's own handler (driver start/stop): same report
        from tui.app.crash import write_report

        path = write_report(exc, "starting or stopping the dashboard", settings)
        where = f"report written to {path}" if path else "the report could not be written"
        print(
            f"sendwatch stopped after an unexpected error ({type(exc).__name__}); {where}",
            file=sys.stderr,
        )
        return 1
    finally:
        store.close()  # also after a crash or a hang-up: the history is checkpointed and closed
    # non-zero after a crash (the app printed one line naming the crash log) or a hang-up (128+signal)
    return app.return_code or 0


def run_demo(listen: tuple[str, int] | None = None) -> int:
    """The full app against the embedded simulator, with a fresh throwaway history.

    With `listen`, push mode end to end: the simulator posts signed webhooks for every status
    change to the receiver inside the dashboard, and polling becomes the safety net."""
    import tempfile
    from dataclasses import replace

    from tui.config import Secret
    from tui.ids import MessageRef
    from tui.services.demo import demo_settings
    from tui.simulator.demo import start_demo
    from tui.simulator.webhooks import (
        SIM_WEBHOOK_SECRET,
        SIM_WEBHOOK_TOKEN,
        WebhookConfig,
        WebhookSender,
    )

    sim, tracked = start_demo()
    sender = None
    try:
        with tempfile.TemporaryDirectory(prefix="sendwatch-demo-") as tmp:
            settings = demo_settings(sim, Path(tmp) / "history.sqlite3")
            if listen is not None:
                settings = replace(
                    settings,
                    sentdm=replace(settings.sentdm, webhook_secret=Secret(SIM_WEBHOOK_SECRET)),
                    sendo=replace(settings.sendo, webhook_token=Secret(SIM_WEBHOOK_TOKEN)),
                )
                url = f"http://{listen[0]}:{listen[1]}"
                sender = WebhookSender(
                    sim.world, WebhookConfig(url, retries=6), since=sim.world.now()
                ).start()
            store = SQLiteStore(settings.history_path())
            history = [m for m in tracked if m.campaign is None]
            store.track([MessageRef(m.id, m.provider) for m in history])
            store.track(
                [MessageRef(m.id, m.provider) for m in tracked if m.campaign],
                campaign="spring-sale",
            )
            store.close()
            return run(
                settings, ListFilter(), demo=True, campaign="spring-sale", listen=listen
            )  # summary: the campaign
    finally:
        if sender is not None:
            sender.stop()
        sim.stop()


def _read_source(source: str, provider: Provider | None) -> tuple[ImportResult, str]:
    """The IDs to import (read within bounds) and a default campaign name. `-` reads stdin."""
    from tui.services.campaigns import read_id_source

    if source == "-":
        return read_id_source(sys.stdin, provider), "stdin-" + time.strftime("%Y%m%d-%H%M")
    path = Path(source).expanduser()
    return read_id_source(path, provider), path.stem


def _reattach_terminal() -> bool:
    """After reading IDs from a pipe, give the dashboard the terminal's keyboard on fd 0."""
    if sys.stdin.isatty():
        return True
    try:
        fd = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = open(0, closefd=False)
    sys.__stdin__ = sys.stdin  # type: ignore[misc]  # Textual's driver reads the keys from __stdin__
    return True


def report(imported: Imported, limit: int = 20) -> None:
    """What an import did, on stderr: each skipped line, then one summary line."""
    problems = imported.result.problems
    for problem in problems[:limit]:
        print(f"sendwatch: skipped {problem.where}: {safe_text(problem.reason)}", file=sys.stderr)
    if len(problems) > limit:
        print(f"sendwatch: … and {len(problems) - limit} more skipped lines", file=sys.stderr)
    print(imported.summary(), file=sys.stderr)


def run_watch(
    settings: Settings,
    source: str | None,
    campaign: str | None,
    provider: str | None,
    *,
    no_ui: bool = False,
    sendo_campaign: str | None = None,
    listen: tuple[str, int] | None = None,
) -> int:
    from tui.model import Provider
    from tui.services.campaigns import track_imported

    if sendo_campaign is not None:
        return _watch_sendo_campaign(settings, sendo_campaign, campaign, no_ui=no_ui, listen=listen)
    if source is None:
        return fail("watch needs a FILE (or - for stdin), or --sendo-campaign ID", 2)
    try:
        found, default_name = _read_source(source, Provider(provider) if provider else None)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    store = _open_store(settings)
    if store is None:
        return 2
    name = campaign or default_name
    try:
        imported = track_imported(store, found, name)
    finally:
        store.close()
    report(imported)
    if not imported.result.refs:
        return fail("no valid message IDs to watch", 2)
    if no_ui:
        return 0
    if not _reattach_terminal():
        return fail(
            "no terminal to show the dashboard on (IDs were imported; use --no-ui in scripts)", 2
        )
    notes = []
    problems = imported.result.problems
    if problems:
        listed = (
            " (listed on the terminal before the dashboard opened)" if len(problems) > 3 else ""
        )
        notes.append(f"Import skipped {len(problems)} lines: {imported.skipped()}{listed}")
    return run(settings, ListFilter(campaign=name), campaign=name, notes=notes, listen=listen)


def _watch_sendo_campaign(
    settings: Settings,
    campaign_id: str,
    name: str | None,
    *,
    no_ui: bool,
    listen: tuple[str, int] | None,
) -> int:
    """A whole Sendo campaign by its ID: a first listing pass now, then the dashboard keeps listing."""
    import asyncio

    from tui.model import Provider
    from tui.polling.policy import PollPolicy
    from tui.providers.lookup import Providers
    from tui.services.campaigns import (
        check_sendo_campaign,
        sendo_campaign_name,
        track_sendo_campaign,
    )

    try:
        campaign_id = check_sendo_campaign(campaign_id)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    if Provider.SENDO not in settings.configured_providers():
        return fail("Sendo is not configured: set SENDO_API_KEY or providers.sendo.api_key", 2)
    store = _open_store(settings)
    if store is None:
        return 2
    name = sendo_campaign_name(campaign_id, name)

    async def first_pass() -> TrackedCampaign:
        providers = Providers(settings)
        try:
            policy = PollPolicy.from_settings(settings.polling)
            return await track_sendo_campaign(providers, store, policy, campaign_id, name)
        finally:
            await providers.aclose()

    try:
        tracked = asyncio.run(first_pass())
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    finally:
        store.close()
    print(tracked.summary(), file=sys.stderr)
    if no_ui:
        return 0
    if not _reattach_terminal():
        return fail(
            "no terminal to show the dashboard on (the campaign was imported; use --no-ui in scripts)",
            2,
        )
    return run(
        settings, ListFilter(campaign=name), campaign=name, listen=listen, discover=campaign_id
    )
