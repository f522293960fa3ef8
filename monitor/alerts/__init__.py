"""Keyword alerts: watches (YAML), a multi-pattern matcher, alert storage, channels and a delivery outbox.

Wired into the crawl by `monitor.alerts.pipeline.AlertPipeline` (settings `MONITOR_WATCHES`,
`MONITOR_DATABASE_URL`, `MONITOR_ALERTS_DELIVER_EVERY`).
"""
