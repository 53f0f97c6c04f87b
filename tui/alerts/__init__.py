"""Alerts (issue #16): rules over the history, evaluated by the instance that polls, delivered once.

`settings` (the `[alerts]` config), `engine` (rules -> firing/resolved transitions, with hold-down and
a state kept in the history that survives restarts and lease moves), `notify` (the Slack-compatible webhook with retries, the bell).
No Textual here: the dashboard, `poll` and `wait` call `AlertEngine.tick(now)`.
"""
