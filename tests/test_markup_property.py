"""No text is markup unless we wrote it: random hostile strings through every surface of the app.

Strings full of `[`, `]`, `[/]`, `[@click=app.quit]`, `[link=…]`, ESC/CSI/OSC sequences, bidi
controls and very long lines are typed in the find bar, sent by the (simulated) provider as a body
and an error, put in an import file and a campaign name (then offered in the command palette),
shown in the confirm dialog and in toasts.
The app must keep running, and what is shown must be the literal text (controls made visible),
never markup taking effect. Toasts are drawn (`notifications=True`); nothing replaces `notify`.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from textual.widgets import Input, OptionList, Static

from tests.test_app import detail_text, live, make_app, quick, toasts, wait_for
from tui.app.screens.confirm import ConfirmScreen
from tui.app.toasts import part
from tui.errors import InvalidIdError
from tui.ids import MessageRef, looks_like_id, parse_ref
from tui.model import Provider
from tui.services.campaigns import quoted
from tui.store.values import NUL, REPLACEMENT
from tui.textsafe import safe_text

PIECES = [
    "[",
    "]",
    "[/]",
    "[/",
    "[b]",
    "[/b]",
    "[bold red]",
    "[@click=app.quit]",
    "[@click=app.bell]x[/]",
    "[link=https://evil.example]click[/link]",
    "[link='x']",
    "[$accent]",
    "[on red]",
    "[not bold]",
    "[#ff0000]",
    "\\[",
    "\\",
    "{}",
    "{0}",
    "%s",
    "sentdm:",
    "sendo:",
    "status:",
    "provider:",
    "error:",
    "campaign:",
    "\x1b[2J",
    "\x1b[31m",
    "\x1b]0;pwned\x07",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b]8;;https://evil.example\x1b\\",
    "\x9b31m",
    "\x07",
    "\x08",
    "\x00",
    "\r",
    "\n",
    "\t",
    "\x7f",
    "\u202e",
    "\u2066",
    "\u200f",
    "é",
    "数",
    "🙂",
]
LONG = ["x" * 3000 + "[/]", "[" * 2000, "[b]" * 500 + "\x1b[2J"]
piece = st.one_of(
    st.sampled_from(PIECES), st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
)
hostile = st.one_of(
    st.lists(piece, min_size=1, max_size=12).map("".join),
    st.tuples(st.sampled_from(LONG), st.lists(piece, max_size=3).map("".join)).map("".join),
)
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FAST = hsettings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SLOW = hsettings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_alive_and_clean(app) -> None:
    assert app.is_running and app._exception is None
    for shown in toasts(app):  # rendering a toast is where untrusted markup used to blow up
        assert not CONTROLS.search(shown.replace("\n", "").replace("\t", ""))


def screen_text(screen) -> str:
    return "\n".join(str(w.render()) for w in screen.query(Static))


@FAST
@given(text=hostile)
async def test_find_bar_toasts_and_confirm_dialog(settings, text) -> None:
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        # typed in the find bar, Enter (the `sentdm:[/]` crash): as a filter, and as a prefixed "ID"
        find = app.query_one("#find", Input)
        for typed in (text, "sentdm:" + text):
            find.focus()  # Enter on a filter moves the focus to the list
            find.value = typed
            submitted = find.value  # what the Input holds (it may normalize line breaks)
            await pilot.press("enter")
            assert_alive_and_clean(app)
        try:
            parse_ref(submitted.strip()) if looks_like_id(submitted) else None
        except InvalidIdError as exc:  # Enter on something shaped like an ID says why it is not one
            expected = safe_text(str(exc))[:120]
            await wait_for(pilot, lambda: any(expected in t for t in toasts(app)), timeout=30)
        # a toast from anywhere, even a careless call that asks for markup
        app.notify(text, markup=True)
        app.notify("ok", title=text)
        await pilot.pause()
        assert_alive_and_clean(app)
        assert any(safe_text(text)[:500] in t for t in toasts(app)), (
            toasts(app),
            safe_text(text)[:500],
        )
        # the confirm dialog quoting a name from a file
        app.push_screen(ConfirmScreen(f"Forget campaign {text}?"))
        await pilot.pause()
        assert safe_text(text) in screen_text(app.screen)
        app.screen.action_answer(False)
        await pilot.pause()
        assert_alive_and_clean(app)


@SLOW
@given(body=hostile, code=hostile, reason=hostile)
async def test_provider_text_in_a_failure(settings, world, body, code, reason) -> None:
    """A message that fails with a hostile error code and reason: the toast and the detail are literal."""
    live(world)
    m = world.add_message(
        Provider.SENDO,
        [(0, "queued"), (1, "failed")],
        body=body,
        error=(code, reason),
        to="+1555[/]\x1b[2J",
    )
    app = make_app(quick(settings))
    app.store.track([MessageRef(m.id, Provider.SENDO)])
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_for(
            pilot,
            lambda: (s := app.store.get(m.id)) is not None and s.message.status.value == "queued",
        )
        world.advance(2)
        await wait_for(
            pilot, lambda: any(f"{m.id[:8]} to " in t and " failed: " in t for t in toasts(app))
        )
        assert_alive_and_clean(app)
        toast = next(t for t in toasts(app) if f"{m.id[:8]} to " in t)
        assert part("+1555[/]\x1b[2J", 20) in toast
        await wait_for(pilot, lambda: safe_text(as_stored(body)) in detail_text(app))
        assert_alive_and_clean(app)


def as_stored(text: str) -> str:
    """What the history keeps of `text`: a NUL becomes U+FFFD (tui/store/values.py)."""
    return text.replace(NUL, REPLACEMENT)


@SLOW
@given(name=hostile, lines=st.lists(hostile, min_size=1, max_size=4))
async def test_import_with_hostile_lines_and_campaign_name(
    settings, world, tmp_path, name, lines
) -> None:
    good = world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
    source = tmp_path / "hostile.txt"
    source.write_text("\n".join([f"sendo:{good.id}", *lines]) + "\n", encoding="utf-8")
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await pilot.press("i")
        app.screen.query_one("#import-path", Input).value = str(source)
        app.screen.query_one("#import-name", Input).value = name
        await pilot.press("enter")
        campaign = name.strip() or source.stem
        await wait_for(pilot, lambda: any(" new in " in t for t in toasts(app)))
        assert_alive_and_clean(app)
        toast = next(t for t in toasts(app) if " new in " in t)
        assert quoted(campaign) in toast
        await pilot.pause(0.3)  # the campaign view and its summary are drawn
        assert_alive_and_clean(app)
        # the command palette offers the campaign by name (Textual parses palette titles as markup)
        await pilot.press("ctrl+p")
        app.screen.query_one(Input).value = "Campaign"
        wanted = f"Campaign: {part(campaign, 60)}"
        await wait_for(
            pilot,
            lambda: any(
                o.prompt.plain.startswith(wanted + "\n")
                for o in app.screen.query_one(OptionList).options
            ),
            timeout=30,  # generous: the palette lists campaigns read in a worker
        )
        await pilot.press("escape")
        assert_alive_and_clean(app)
