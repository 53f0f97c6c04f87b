"""`m`: send a test message — provider, recipients, template or text, parameters, channel, sandbox.

The form only builds a `SendRequest` and checks it (the same `check` the CLI uses), so nothing is
sent from here: the app asks for confirmation with the cost ("2 recipients x 2 channels = 4
messages") and then sends through `tui.services.send`. Sandbox is on by default: a first try costs
nothing and reaches nobody.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Select, Static

from tui.errors import SendwatchError
from tui.model import Provider
from tui.providers.sending import SendRequest
from tui.textsafe import safe_text


class SendScreen(ModalScreen[tuple[Provider, SendRequest] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, providers: list[Provider]) -> None:
        super().__init__()
        self.providers = providers

    def compose(self) -> ComposeResult:
        with Vertical(id="send-box"):
            yield Static(Text("Send a test message", style="bold"))
            # compact widgets (one row each): the whole form fits an 80x24 terminal
            yield Select(
                [(p.label, p.value) for p in self.providers],
                value=self.providers[0].value,
                allow_blank=False,
                id="send-provider",
                compact=True,
            )
            yield Input(placeholder="to: +14155550100, +14155550101", id="send-to", compact=True)
            yield Input(
                placeholder="template name or ID (Sent.dm) — or leave empty and write text below",
                id="send-template",
                compact=True,
            )
            yield Input(
                placeholder="parameters: name=Ada, code=1234", id="send-params", compact=True
            )
            yield Input(placeholder="text (instead of a template)", id="send-text", compact=True)
            yield Input(
                placeholder="channel: sms (or sms,whatsapp)", id="send-channel", compact=True
            )
            yield Input(
                placeholder="Sendo campaign ID (8 characters, Sendo only)",
                id="send-campaign",
                compact=True,
            )
            yield Checkbox(
                "sandbox (simulated by the provider: no side effects, no cost)",
                value=True,
                id="send-sandbox",
                compact=True,
            )
            yield Static("", id="send-problem")
            yield Static(Text("Enter: review and send    Esc: cancel", style="dim"))

    def on_mount(self) -> None:
        self.query_one(
            "#send-to", Input
        ).focus()  # the recipients first; the provider is one Tab back
        self._sandbox_fits(self.providers[0])

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value in (p.value for p in Provider):
            self._sandbox_fits(Provider(str(event.value)))

    def _sandbox_fits(self, provider: Provider) -> None:
        """Sendo has no sandbox: its sends are real, and the form must not suggest otherwise."""
        box = self.query_one("#send-sandbox", Checkbox)
        box.disabled = provider is Provider.SENDO
        if provider is Provider.SENDO:
            box.value = False

    def _value(self, name: str) -> str:
        return self.query_one(f"#send-{name}", Input).value.strip()

    def request(self) -> tuple[Provider, SendRequest]:
        """The form as a checked request; raises `SendwatchError` with what to fix."""
        provider = Provider(str(self.query_one("#send-provider", Select).value))
        params: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in self._value("params").split(","))):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise SendwatchError(f"parameters take name=value (got {pair!r})")
            params[key.strip()] = value.strip()
        req = SendRequest(
            to=tuple(
                n.strip() for n in self._value("to").replace(";", ",").split(",") if n.strip()
            ),
            text=self._value("text") or None,
            template=self._value("template") or None,
            params=params,
            channels=tuple(
                c.strip().lower() for c in self._value("channel").split(",") if c.strip()
            ),
            sandbox=self.query_one("#send-sandbox", Checkbox).value,
            sendo_campaign=self._value("campaign") or None,
        )
        return provider, req.check(provider)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.dismiss(self.request())
        except SendwatchError as exc:
            problem = Text("⚠ ", style="bold yellow")
            problem.append(safe_text(str(exc), single_line=True, limit=300), style="yellow")
            self.query_one("#send-problem", Static).update(problem)

    def action_cancel(self) -> None:
        self.dismiss(None)
