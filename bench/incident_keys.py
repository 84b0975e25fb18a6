"""The 3 a.m. loop, timed in a real terminal: from the first critical alert to a verified rollback.

Builds a fresh demo workspace, starts ``fuseboard demo`` in a detached tmux session of 80x24
(``NO_COLOR=1``; ``--term`` sets ``TERM``, e.g. ``xterm`` for 16 colours), opens the Monitoring
screen and waits for the first critical alert (it takes the cursor). Then it types what an
on-call engineer would, reading the screen between keys as a person does: ``enter`` (the
incident view), ``r``, and either ``y`` (an internal model) or the model's name, ``enter``, a
reason, ``enter`` (mission-critical in prod). It prints the screens it saw, the key count from
the selected alert to the confirm, and the seconds from the confirm to "endpoint reports vN"
(or the failure the view shows instead).

    python bench/incident_keys.py                      # the first critical alert, whichever it is
    python bench/incident_keys.py --model credit-risk  # wait for that model's critical alert
    python bench/incident_keys.py --model churn-propensity --env prod --check performance

Needs tmux and the ``fuseboard`` command of this checkout (run it inside the project's venv).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


class Terminal:
    def __init__(self, session: str) -> None:
        self.session = session
        self.keys = 0

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.session)

    def wait(self, test, seconds: float, what: str) -> str:  # noqa: ANN001
        deadline = time.monotonic() + seconds
        while True:
            text = self.screen()
            if test(text):
                return text
            if time.monotonic() > deadline:
                sys.exit(f"error: gave up waiting for {what} after {seconds:g} s; the screen:\n{text}")
            time.sleep(0.05)

    def press(self, *keys: str, counted: bool = True) -> None:
        """One key at a time (a tmux key name such as Enter, or one character), as typed."""
        for key in keys:
            tmux("send-keys", "-t", self.session, *(["-l", key] if len(key) == 1 else [key]))
            if counted:
                self.keys += 1
            time.sleep(0.03)


def alert_rows(text: str) -> list[str]:
    return [line for line in text.splitlines()[2:-3] if re.match(r"^[✖▲?◌○●] ", line)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="wait for this model's alert (default: the first critical one)")
    parser.add_argument("--env", help="wait for an alert in this environment")
    parser.add_argument("--check", help="wait for an alert of this check (drift, health, performance, ...)")
    parser.add_argument("--severity", default="crit", choices=("crit", "warn"), help="the alert's severity")
    parser.add_argument("--term", default=os.environ.get("TERM", "xterm-256color"), help="TERM for the console")
    parser.add_argument("--color", action="store_true", help="leave colour on (default: NO_COLOR=1)")
    parser.add_argument("--wait", type=float, default=180, help="seconds to wait for the alert")
    parser.add_argument("--keep", action="store_true", help="keep the demo folder")
    args = parser.parse_args()
    if shutil.which("tmux") is None or shutil.which("fuseboard") is None:
        sys.exit("error: needs tmux and the fuseboard command (activate the project's venv)")

    home = Path(tempfile.mkdtemp(prefix="fuseboard-incident-"))
    demo = home / "demo"
    env = {"XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
           "FUSEBOARD_USER": "oncall", "TERM": args.term, **({} if args.color else {"NO_COLOR": "1"})}
    subprocess.run(["fuseboard", "demo", "--path", str(demo), "--no-tui"], check=True, capture_output=True,
                   env={**os.environ, **env})
    session = f"fuseboard-incident-{os.getpid()}"
    command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + \
        f" fuseboard demo --path {shlex.quote(str(demo))}"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", f"env {command}")
    term = Terminal(session)
    try:
        term.wait(lambda t: "1 Models" in t and " models" in t, 60, "the console")
        started = time.monotonic()
        term.press("3", counted=False)
        glyph = "✖ crit" if args.severity == "crit" else "▲ warn"
        any_word = r"\S+"
        model_part = re.escape(args.model) if args.model else any_word
        env_part = re.escape(args.env) if args.env else any_word
        check_part = re.escape(args.check) if args.check else ""
        wanted = re.compile(rf"^{re.escape(glyph)} {model_part} +{env_part} +{check_part}")
        text = term.wait(lambda t: any(wanted.match(r) for r in alert_rows(t)), args.wait,
                         f"a {args.severity} alert" + (f" on {args.model}" if args.model else ""))
        print(f"after {time.monotonic() - started:.0f} s, the alert list:\n{text}")
        moves = 0
        first = True
        while True:  # select it: a new critical alert has taken the cursor already; anything else is walked to
            summary = term.screen().splitlines()[-3].strip()
            row = next(r for r in alert_rows(term.screen()) if wanted.match(r))
            model, env_name, check = row.split()[2:5]
            if summary.startswith(f"{model}/{env_name} {check}") or f"· {model}/{env_name} {check}" in summary:
                break
            term.press("g" if first else "j", counted=False)
            first = False
            moves += 1
            time.sleep(0.2)
            if moves > 30:
                sys.exit("error: could not select the alert")
        print(f"selected: {model}/{env_name} {check} ({moves} moves to select it)\n")
        term.keys = 0
        term.press("Enter")
        text = term.wait(lambda t: "Rollback to v" in t or "Rollback: " in t, 20, "the incident view")
        print(f"the incident view:\n{text}")
        term.press("r")
        text = term.wait(lambda t: "→ v" in t or "cannot rollback" in t, 20, "the rollback dialog's plan")
        print(f"the rollback dialog:\n{text}")
        if "cannot rollback" in text:
            sys.exit(f"the rollback was refused:\n{text}")
        if f"type {model} to confirm" in text:
            term.press(*model, "Enter", *"bench: the 3 a.m. loop")
            text = term.wait(lambda t: "bench: the 3 a.m. loop" in t, 10, "the reason typed")
            print(f"the rollback dialog, filled in:\n{text}")
            term.press("Enter")
        else:
            term.press("y")
        confirmed = time.monotonic()
        outcome = re.compile(r"(endpoint reports v\d+|did not converge within \d+ s|FAILED|could not rollback)")
        text = term.wait(lambda t: outcome.search(t) is not None, 60, "the rollback's outcome")
        seconds = time.monotonic() - confirmed
        print(f"the incident view after the confirm:\n{text}")
        result = outcome.search(text).group(1)
        print(f"keys from the selected alert to the confirm: {term.keys}")
        print(f"seconds from the confirm to '{result}': {seconds:.1f}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
