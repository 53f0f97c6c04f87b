"""Status pushed by the providers instead of polled: `sendwatch listen` and `--listen`.

Domain code: no Textual, no Rich. `server.WebhookReceiver` runs inside any asyncio loop;
`tui.commands.listen.run` runs it standalone. Nothing here ever logs a secret, a token or a body.
"""

from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.readiness import Readiness
from tui.webhooks.server import ReceiverLimits, WebhookReceiver, build_app, limits_for
from tui.webhooks.stats import ProviderStats, WebhookStats

__all__ = [
    "ProviderStats",
    "Readiness",
    "ReceiverLimits",
    "WebhookCredentials",
    "WebhookReceiver",
    "WebhookStats",
    "build_app",
    "limits_for",
]
