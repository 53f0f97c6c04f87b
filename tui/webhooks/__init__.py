"""Status pushed by the providers instead of polled: `sendwatch listen` and `--listen`.

Domain code: no Textual, no Rich. `server.WebhookReceiver` runs inside any asyncio loop;
`tui.commands.listen.run` runs it standalone. Nothing here ever logs a secret, a token or a body.
"""

from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver, build_app
from tui.webhooks.stats import ProviderStats, WebhookStats

__all__ = ["ProviderStats", "WebhookCredentials", "WebhookReceiver", "WebhookStats", "build_app"]
