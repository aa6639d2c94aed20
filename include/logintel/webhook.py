"""A generic JSON webhook as an Airflow notifier (Slack incoming webhooks accept the same body)."""
from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier

TIMEOUT_SECONDS = 10


class WebhookNotifier(BaseNotifier):
    """POST `payload` as JSON to `url`; a non-2xx answer raises (the caller records it)."""

    def __init__(self, url: str, payload: dict, token: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.url = url
        self.payload = payload
        self.token = token

    def notify(self, context: Any) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = httpx.post(self.url, json=self.payload, headers=headers, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
