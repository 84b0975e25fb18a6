"""The health probe: one HTTP GET of a deployment's endpoint, timed.

One job: ask the endpoint and say what came back (``ProbeResult``); judging it (up long enough?
the right version?) is ``evaluate.evaluate_health``'s, keeping the history is the checks'.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class ProbeResult:
    up: bool
    status_code: int | None
    latency_ms: float | None
    version: str | None
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(url: str, path: str = "/health", timeout: float = 2.0, expected_status: int = 200) -> ProbeResult:
    """GET the endpoint's health path; up when it answers ``expected_status`` within ``timeout`` (in all).

    Redirects are not followed: a 3xx is "not up, HTTP 302 -> Location" (unless it is the
    expected status). The version is read from a JSON body's ``version`` (or ``model_version``) field.
    """
    from fuseboard import http

    target = url.rstrip("/") + path
    answer = http.request("GET", target, deadline=timeout, max_body=65536)
    if answer.status is None:
        return ProbeResult(False, None, None, None, answer.error[:200])
    code = answer.status
    latency = answer.seconds * 1000
    if answer.error:  # the headers came, the body did not (in time)
        return ProbeResult(False, code, latency, None, answer.describe()[:200])
    version = None
    try:
        data = json.loads(answer.body)
        if isinstance(data, dict):
            found = data.get("version", data.get("model_version"))
            version = None if found is None else str(found)
    except (ValueError, UnicodeDecodeError):
        pass
    return ProbeResult(code == expected_status, code, latency, version,
                       "" if code == expected_status else answer.describe()[:200])

