"""Deploy hooks: what a change of version runs outside fuseboard so the serving system follows.

An environment's hook is either a command, an argument list run without a shell, or an
HTTP webhook that receives the change as JSON::

    {"command": ["kubectl", "set", "image", "deploy/{model}", "model={artifact}"], "timeout": 60}
    {"webhook": "https://deployer.internal/hooks/fuseboard", "timeout": 30}

Placeholders ``{model}``, ``{version}``, ``{artifact}``, ``{env}``, ``{from_version}`` and
``{action}`` are filled in each argument separately, so a value can never become a second
argument or a shell command. A hook must be idempotent: a retry runs it again with the same
values. Success is exit status 0 or an HTTP 2xx answer within the timeout.

A command hook runs in a process group of its own, with a clean environment (``ENV_ALLOWED``
and the ``FUSEBOARD_HOOK_ENV_*`` opt-ins), and is killed with its group at the timeout; only the
last ``MAX_OUTPUT`` bytes of its output are kept. A webhook goes through ``fuseboard.http``: no
redirects, one deadline for the whole request. Known secrets are masked in what is kept.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypedDict

from fuseboard import http, redact
from fuseboard.errors import FuseboardError

PLACEHOLDERS = ("model", "version", "artifact", "env", "from_version", "action")
DEFAULT_TIMEOUT = 60.0
MAX_OUTPUT = 16_384  # bytes of output kept with the rollout: the last ones
EXIT_GRACE = 0.5  # seconds the output may stay open after the hook's own process exited
POLL = 0.05  # seconds between looks at whether the hook's process exited
# what a command hook inherits (and LC_*); anything else only as FUSEBOARD_HOOK_ENV_<NAME>=value
ENV_ALLOWED = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "TMPDIR", "KUBECONFIG")
ENV_OPT_IN = "FUSEBOARD_HOOK_ENV_"


class HookConfig(TypedDict, total=False):
    """An environment's hook as ``validate`` leaves it, stored (``Environment.hook``, JSON) and shown:
    ``{}`` for no hook, else ``command`` or ``webhook`` with ``timeout``."""

    command: list[str]  # the program and its arguments, each with its placeholders
    webhook: str  # an http(s) URL without credentials
    timeout: float  # seconds


class HookValues(TypedDict):
    """What fills a hook's placeholders (and a webhook's JSON body, with ``"event": "deploy"``)."""

    model: str
    version: int
    artifact: str
    env: str
    from_version: int | None  # None: nothing served before
    action: str  # deploy, promote, rollback


@dataclass
class HookResult:
    ok: bool
    status: str  # "exit 0", "HTTP 200", "timeout after 30s", "no hook", "failed to start: ..."
    output: str
    ran: str  # what ran, for the record
    seconds: float


def validate(hook: Mapping[str, object]) -> HookConfig:
    """A hook setting as given (from a flag or a file, not yet checked) checked and normalised; raises
    FuseboardError naming the bad field."""
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
    out: HookConfig = {"timeout": float(timeout)}
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
        from fuseboard.inputs import url as checked_url

        checked_url(url, "hook.webhook")  # one line for http://[::1, a port past 65535, spaces
        where = http.secret_in_url(url)
        if where:  # it would be stored, shown and audited
            raise FuseboardError(f"hook.webhook must not carry credentials (its {where}); put the token in "
                                 "FUSEBOARD_HOOK_TOKEN (sent as an Authorization: Bearer header) (hook.webhook)")
        out["webhook"] = url
    return out


def shown(hook: HookConfig) -> HookConfig:
    """The hook setting as it may be shown: a webhook URL stored before credentials in URLs were refused
    has them as ``****``."""
    return {**hook, "webhook": http.masked_url(hook["webhook"])} if "webhook" in hook else hook


def describe(hook: HookConfig) -> str:
    if not hook:
        return "no hook (fuseboard only records the change)"
    if "command" in hook:
        return "command " + " ".join(hook["command"]) + f" (timeout {hook['timeout']:g}s)"
    return f"webhook {http.masked_url(hook['webhook'])} (timeout {hook['timeout']:g}s)"


def hook_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a command hook gets: the allow-list below, and the ``FUSEBOARD_HOOK_ENV_*`` opt-ins.

    Nothing else is inherited, so no token or password of fuseboard's own environment reaches a
    hook unless it is handed over on purpose: ``FUSEBOARD_HOOK_ENV_AWS_PROFILE=prod`` gives the
    hook ``AWS_PROFILE=prod``.
    """
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items() if k in ENV_ALLOWED or k.startswith("LC_")}
    for name, value in environ.items():
        if name.startswith(ENV_OPT_IN) and len(name) > len(ENV_OPT_IN):
            env[name[len(ENV_OPT_IN):]] = value
    return env


def run(hook: HookConfig, values: HookValues) -> HookResult:
    """Run the hook with these placeholder values; never raises for the hook's own failure.

    Known secrets (see ``fuseboard.redact``) are masked in the status and the output.
    """
    start = time.monotonic()
    if not hook:
        return HookResult(True, "no hook", "", "", 0.0)
    timeout = float(hook.get("timeout", DEFAULT_TIMEOUT))
    text = {k: "" if values.get(k) is None else str(values[k]) for k in PLACEHOLDERS}
    if "command" in hook:
        args = [arg.format_map(text) for arg in hook["command"]]
        ok, status, output = _run_command(args, timeout)
        ran = json.dumps(args)
    elif http.secret_in_url(hook["webhook"]):  # set before such URLs were refused: it is not sent
        ran = http.masked_url(hook["webhook"])
        ok, output = False, ""
        status = (f"refused: the webhook's URL carries a credential ({http.secret_in_url(hook['webhook'])}); set "
                  "the hook again without it (fuseboard envs set ENV --hook-webhook URL), the token in "
                  "FUSEBOARD_HOOK_TOKEN")
    else:
        ran = hook["webhook"]
        headers = {"Content-Type": "application/json"}
        token = os.environ.get("FUSEBOARD_HOOK_TOKEN")
        if token:  # from the environment only: never stored, shown or audited; sent to this URL only
            headers["Authorization"] = f"Bearer {token}"
        answer = http.request("POST", ran, body=json.dumps({**values, "event": "deploy"}).encode(),
                              headers=headers, deadline=timeout, max_body=MAX_OUTPUT)
        ok, status = answer.ok, answer.describe()
        output = answer.text() + (f"\n… (the rest of the answer, past {MAX_OUTPUT} bytes, was not read)"
                                  if answer.truncated else "")
    return HookResult(ok, redact.mask(status), redact.mask(output), redact.mask(ran), time.monotonic() - start)


RunHook = Callable[[HookConfig, HookValues], HookResult]  # ``run``, or a stand-in (tests, a fault injected)


def _run_command(args: list[str], timeout: float) -> tuple[bool, str, str]:
    """Run ``args`` in a process group of its own, with the hook environment; (ok, status, output).

    Output is read as it comes and only its last ``MAX_OUTPUT`` bytes are kept. Once the hook's
    own process has exited, whatever it left running in the background gets ``EXIT_GRACE``
    seconds to finish writing and is then no longer waited for (nor killed). At the deadline the
    whole process group is killed.
    """
    deadline = time.monotonic() + timeout
    try:  # its own process group, so a timeout stops whatever the hook started too
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # noqa: S603 (no shell)
                                stdin=subprocess.DEVNULL, env=hook_environment(), start_new_session=True)
    except (OSError, ValueError) as exc:
        return False, f"failed to start: {getattr(exc, 'strerror', None) or exc}", ""
    tail = _Tail(MAX_OUTPUT)
    try:
        exited = _collect(proc, tail, deadline)
    finally:
        if proc.poll() is None:  # the deadline passed, or fuseboard itself failed while reading
            _kill_group(proc)
            proc.wait()
        proc.stdout.close()
    if not exited:
        return False, f"timeout after {timeout:g}s", tail.text()
    return proc.returncode == 0, f"exit {proc.returncode}", tail.text()


def _collect(proc: subprocess.Popen, tail: "_Tail", deadline: float) -> bool:
    """Read the hook's output until it exits (plus a grace period) or the deadline; True if it exited."""
    import selectors

    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        reading, exited_at = True, None
        while True:
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and (not reading or now >= exited_at + EXIT_GRACE):
                return True
            if exited_at is None and now >= deadline:
                return False
            limit = deadline if exited_at is None else exited_at + EXIT_GRACE
            wait = min(limit - now, POLL)
            if not reading:  # its output is closed, the process still runs
                try:
                    proc.wait(timeout=max(0.0, limit - now))
                except subprocess.TimeoutExpired:
                    pass
                continue
            if not sel.select(timeout=max(0.0, wait)):
                continue
            try:
                chunk = os.read(fd, 65_536)
            except BlockingIOError:
                continue
            if chunk:
                tail.add(chunk)
            else:
                reading = False
                sel.unregister(fd)


class _Tail:
    """The last ``size`` bytes written, and how many came before them (a ring buffer)."""

    def __init__(self, size: int) -> None:
        self.size, self.buffer, self.dropped = size, bytearray(), 0

    def add(self, chunk: bytes) -> None:
        self.buffer += chunk
        excess = len(self.buffer) - self.size
        if excess > 0:
            del self.buffer[:excess]
            self.dropped += excess

    def text(self) -> str:
        text = self.buffer.decode("utf-8", "replace")
        return f"… ({self.dropped} earlier bytes dropped)\n{text}" if self.dropped else text


def _kill_group(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
