"""Deploy hooks: what a change of version runs outside fuseboard so the serving system follows.

An environment's hook is either a command, an argument list run without a shell, or an
HTTP webhook that receives the change as JSON::

    {"command": ["kubectl", "set", "image", "deploy/{model}", "model={artifact}"], "timeout": 60}
    {"webhook": "https://deployer.internal/hooks/fuseboard", "timeout": 30}

Placeholders ``{model}``, ``{version}``, ``{artifact}``, ``{env}``, ``{from_version}`` and
``{action}`` are filled in each argument separately, so a value can never become a second
argument or a shell command. A hook must be idempotent: a retry runs it again with the same
values. Success is exit status 0 or an HTTP 2xx answer within the timeout.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from fuseboard.errors import FuseboardError

PLACEHOLDERS = ("model", "version", "artifact", "env", "from_version", "action")
DEFAULT_TIMEOUT = 60.0
MAX_OUTPUT = 16_000  # characters of output kept with the rollout


@dataclass
class HookResult:
    ok: bool
    status: str  # "exit 0", "HTTP 200", "timeout after 30s", "no hook", "failed to start: ..."
    output: str
    ran: str  # what ran, for the record
    seconds: float


def validate(hook: dict[str, Any]) -> dict[str, Any]:
    """A hook setting checked and normalised; raises FuseboardError naming the bad field."""
    if not hook:
        return {}
    unknown = set(hook) - {"command", "webhook", "timeout"}
    if unknown:
        raise FuseboardError(f"unknown hook setting {sorted(unknown)[0]!r} (command, webhook, timeout)")
    if ("command" in hook) == ("webhook" in hook):
        raise FuseboardError("a hook is either a command or a webhook (hook.command / hook.webhook)")
    timeout = hook.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 3600:
        raise FuseboardError(f"hook timeout must be seconds between 0 and 3600, not {timeout!r} (hook.timeout)")
    out: dict[str, Any] = {"timeout": float(timeout)}
    if "command" in hook:
        command = hook["command"]
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise FuseboardError("hook.command must be a non-empty list of strings (the program and its arguments)")
        for arg in command:
            try:
                fields = [field for _, field, _, _ in string.Formatter().parse(arg)]
            except ValueError as exc:
                raise FuseboardError(f"hook.command argument {arg!r}: {exc} (write {{{{ or }}}} for a literal "
                                     "brace)") from None
            for field in fields:
                if field is not None and field not in PLACEHOLDERS:
                    raise FuseboardError(f"unknown placeholder {{{field}}} in hook.command "
                                         f"(known: {', '.join(PLACEHOLDERS)})")
        out["command"] = list(command)
    else:
        url = hook["webhook"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise FuseboardError(f"hook.webhook must be an http(s) URL, not {url!r}")
        from urllib.parse import urlsplit

        from fuseboard.inputs import url as checked_url

        checked_url(url, "hook.webhook")  # one line for http://[::1, a port past 65535, spaces

        parts = urlsplit(url)
        if parts.username or parts.password:  # it would be stored, shown and audited
            raise FuseboardError("hook.webhook must not carry credentials; put the token in FUSEBOARD_HOOK_TOKEN "
                                 "(sent as an Authorization: Bearer header)")
        out["webhook"] = url
    return out


def describe(hook: dict[str, Any]) -> str:
    if not hook:
        return "no hook (fuseboard only records the change)"
    if "command" in hook:
        return "command " + " ".join(hook["command"]) + f" (timeout {hook['timeout']:g}s)"
    return f"webhook {hook['webhook']} (timeout {hook['timeout']:g}s)"


def run(hook: dict[str, Any], values: dict[str, Any]) -> HookResult:
    """Run the hook with these placeholder values; never raises for the hook's own failure."""
    start = time.monotonic()
    if not hook:
        return HookResult(True, "no hook", "", "", 0.0)
    timeout = float(hook.get("timeout", DEFAULT_TIMEOUT))
    text = {k: "" if values.get(k) is None else str(values[k]) for k in PLACEHOLDERS}
    if "command" in hook:
        args = [arg.format_map(text) for arg in hook["command"]]
        ran = json.dumps(args)
        try:  # its own process group, so a timeout stops whatever the hook started too
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # noqa: S603 (no shell)
                                    stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
        except OSError as exc:
            return HookResult(False, f"failed to start: {exc.strerror or exc}", "", ran, time.monotonic() - start)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            output, _ = proc.communicate()
            return HookResult(False, f"timeout after {timeout:g}s", _clip(output or ""), ran,
                              time.monotonic() - start)
        return HookResult(proc.returncode == 0, f"exit {proc.returncode}", _clip(output or ""), ran,
                          time.monotonic() - start)
    url = hook["webhook"]
    body = json.dumps({**values, "event": "deploy"}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    token = os.environ.get("FUSEBOARD_HOOK_TOKEN")
    if token:  # from the environment only: never stored, shown or audited
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the configured hook)
            output = response.read(MAX_OUTPUT).decode("utf-8", "replace")
            code = response.status
    except urllib.error.HTTPError as exc:
        output = exc.read(MAX_OUTPUT).decode("utf-8", "replace") if exc.fp else ""
        return HookResult(False, f"HTTP {exc.code}", _clip(output), url, time.monotonic() - start)
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        status = f"timeout after {timeout:g}s" if isinstance(reason, TimeoutError) or "timed out" in str(reason) \
            else f"failed: {reason}"
        return HookResult(False, status, "", url, time.monotonic() - start)
    return HookResult(200 <= code < 300, f"HTTP {code}", _clip(output), url, time.monotonic() - start)


def _kill_group(proc: subprocess.Popen) -> None:
    import os
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT else text[:MAX_OUTPUT] + f"\n… ({len(text) - MAX_OUTPUT} more characters)"
