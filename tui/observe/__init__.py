"""Operating sendwatch as a service: Prometheus metrics, JSON logs, secret scrubbing. No Textual.

`metrics` counts what happened (typed methods called at the event) and reads gauges at scrape time;
`serving` exposes them over HTTP (a route for the receiver, a small server for `poll --metrics`);
`logs` makes every line `listen` and `poll` write either plain text or one JSON object; `scrub`
removes known secret values from any text before it is written.

Wiring (applied by the integrator; `wiring.patch` here is the exact change against the tree this
was built on, checked with the end-to-end tests in tests/test_metrics_e2e.py):
- cli: global `--log-format text|json` (env SENDWATCH_LOG_FORMAT via `logs.resolve_format`), then
  `logs.setup_logging(fmt)` before `listen`/`poll` run; `poll --metrics [HOST:]PORT` parsed with
  `commands.listen.parse_listen` and served by `serving.MetricsServer`.
- commands.output: `fail`/`warn` call `logs.problem`; `listen` prints through `logs.banner`/`say`.
- providers.base: `ProviderClient.on_request(provider, outcome, seconds)` after each HTTP attempt.
- polling.poller: `PollUpdate.message`, so `Metrics.message_recorded` can time deliveries.
- webhooks.server: `metrics=` on `build_app`/`WebhookReceiver`: one `webhook_event` per request
  under its result, `message_recorded` per stored push, and `serving.metrics_route` on its port.
"""
