"""Operating sendwatch as a service: Prometheus metrics, JSON logs, secret scrubbing. No Textual.

`metrics` counts what happened (typed methods called at the event) and reads gauges at scrape time;
`serving` exposes them over HTTP (a route for the receiver, a small server for `poll --metrics`);
`logs` makes every line `listen` and `poll` write either plain text or one JSON object; `scrub`
removes known secret values from any text before it is written.
"""
