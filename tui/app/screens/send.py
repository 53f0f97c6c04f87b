"""`m`: send a test message — provider, recipients, template or text, parameters, channel, sandbox.

The form builds a `SendRequest` and checks it (the same `check` the CLI uses), asks for
confirmation with what it will create ("2 recipients x 2 channels = 4 messages", sandbox or
real), then sends through the monitor (`tui.services.send`, which records the new messages in
history) and stays open until the answer: a refused send is said here and can be corrected. It
tells what was sent and dismisses with the first new message's ID (the dashboard shows it). Sandbox is on by default: a first try costs nothing.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Select, Static
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.app.screens.confirm import ConfirmScreen
from tui.app.toasts import part, toast_text
from tui.errors import SendwatchError
from tui.model import Provider
from tui.providers.sending import SendRequest, SendResult
from tui.services.monitor import Monitor
from tui.services.send import cost
from tui.textsafe import safe_text


def confirm_question(provider: Provider, req: SendRequest) -> str:
    """What the confirmation asks: which provider, sandbox or real, how many messages, to whom."""
    mode = (
        "in the provider's sandbox (no side effects)"
        if req.sandbox
        else "FOR REAL (billed, delivered)"
    )
    what = f"Template: {req.template}" if req.template else f"Text: {req.text}"
    return f"Send with {provider.label} {mode}: {cost(req)}?\nTo: {', '.join(req.to)}\n{what}"


class SendScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    WORKER_LABELS = {"send": "Send"}

    def __init__(self, providers: list[Provider], monitor: Monitor) -> None:
        super().__init__()
        self.providers = providers
        self.monitor = monitor
        self.sending = False

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
        self.query_one("#send-to", Input).focus()  # the recipients first; the provider one Tab back
        self._sandbox_fits(self.providers[0])

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in {p.value for p in Provider}:
            self._sandbox_fits(Provider(event.value))

    def _sandbox_fits(self, provider: Provider) -> None:
        """Sendo has no sandbox: its sends are real, and the form must not suggest otherwise."""
        box = self.query_one("#send-sandbox", Checkbox)
        box.disabled = provider is Provider.SENDO
        if provider is Provider.SENDO:
            box.value = False

    def _value(self, name: str) -> str:
        return self.query_one(f"#send-{name}", Input).value.strip()

    def _say(self, text: str, *, problem: bool = True) -> None:
        line = Text("⚠ " if problem else "", style="bold yellow")
        line.append(
            safe_text(text, single_line=True, limit=300), style="yellow" if problem else "dim"
        )
        self.query_one("#send-problem", Static).update(line)

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
        if self.sending:
            return  # one send at a time: a second Enter must not send (or cancel) anything
        try:
            provider, req = self.request()
        except SendwatchError as exc:
            self._say(str(exc))
            return

        def answered(yes: bool | None) -> None:
            if yes and not self.sending:
                self.sending = True
                self._say("Sending…", problem=False)
                self._send(provider, req)

        self.app.push_screen(ConfirmScreen(confirm_question(provider, req)), answered)

    @work(group="send", exclusive=True, exit_on_error=False)
    async def _send(self, provider: Provider, req: SendRequest) -> None:
        try:
            result = await self.monitor.send(provider, req)
        except SendwatchError as exc:
            self.sending = False
            self._say(f"Send failed: {exc}")
            self.notify(toast_text("Send failed: {}", part(exc, 400)), severity="error", timeout=12)
            return
        self._tell(result)
        self.dismiss(result.messages[0].id if result.messages else None)

    def _tell(self, result: SendResult) -> None:
        """What the provider made of it: notes, recipients refused or in doubt, what was sent."""
        for note in result.notes:
            self.notify(toast_text("{}", part(note, 300)), severity="warning", timeout=15)
        for to, why in [*result.unknown, *result.refused]:
            problem = toast_text("{}: {}", part(to, 20), part(why, 300))
            self.notify(problem, severity="error", timeout=15)
        if result.messages:
            key = f" (Idempotency-Key {result.idempotency_key})" if result.idempotency_key else ""
            count, label = len(result.messages), result.provider.label
            self.notify(toast_text("Sent {} message(s) with {}{}", count, label, key), timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.sending = False
            self._say(f"Send failed: {type(failure.error).__name__}")
            self.post_message(failure)

    def action_cancel(self) -> None:
        if not self.sending:  # a send on its way is not abandoned half-way
            self.dismiss(None)
