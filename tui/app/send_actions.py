"""`m` (and the palette): send a test message, confirm what it costs, then watch it arrive.

The form builds and checks a `SendRequest` (the same checks as `sendwatch send`); a confirmation
says what it will create ("2 recipients x 2 channels = 4 messages", sandbox or real); the send goes
through `tui.services.send`, which records the new messages in history. The first one is then
selected, and the poller (or webhooks) fill its timeline in live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from tui.app.toasts import part, toast_text
from tui.errors import SendwatchError
from tui.model import Provider

if TYPE_CHECKING:  # httpx (behind the providers) loads after the first frame, not at start-up
    from tui.app.app import SendwatchApp
    from tui.providers.sending import SendRequest


class SendActions:
    """Mixed into `SendwatchApp`."""

    def action_send_message(self: SendwatchApp) -> None:
        from tui.app.screens.send import SendScreen

        configured = self.settings.configured_providers()
        if not configured or self.providers is None:
            self.notify(
                "No provider is configured: add a key first (see `sendwatch config path`)",
                severity="warning",
            )
            return

        def chosen(result: tuple[Provider, SendRequest] | None) -> None:
            if result is not None:
                self._confirm_send(*result)

        self.push_screen(SendScreen(configured), chosen)

    def _confirm_send(self: SendwatchApp, provider: Provider, req: SendRequest) -> None:
        from tui.app.screens.confirm import ConfirmScreen
        from tui.services.send import cost

        mode = (
            "in the provider's sandbox (no side effects)"
            if req.sandbox
            else "FOR REAL (billed, delivered)"
        )
        question = f"Send with {provider.label} {mode}: {cost(req)}?\nTo: {', '.join(req.to)}\n" + (
            f"Template: {req.template}" if req.template else f"Text: {req.text}"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.send_message(provider, req)

        self.push_screen(ConfirmScreen(question), answered)

    @work(group="send", exclusive=True, exit_on_error=False)
    async def send_message(self: SendwatchApp, provider: Provider, req: SendRequest) -> None:
        from tui.services.send import send

        assert self.providers is not None
        try:
            result = await send(self.providers, provider, req, self.store)
        except SendwatchError as exc:
            self.notify(toast_text("Send failed: {}", part(exc, 400)), severity="error", timeout=12)
            return
        for note in result.notes:
            self.notify(toast_text("{}", part(note, 300)), severity="warning", timeout=15)
        for to, why in [*result.unknown, *result.refused]:
            self.notify(
                toast_text("{}: {}", part(to, 20), part(why, 300)), severity="error", timeout=15
            )
        if not result.messages:
            return
        key = f" (Idempotency-Key {result.idempotency_key})" if result.idempotency_key else ""
        self.notify(
            toast_text("Sent {} message(s) with {}{}", len(result.messages), provider.label, key),
            timeout=8,
        )
        if self.poller:
            self.poller.wake()
        await self._show_message(result.messages[0].id)
