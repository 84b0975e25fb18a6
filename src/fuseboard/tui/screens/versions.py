"""Deploy: choose the version from a list (its metrics, where it runs, known-good marks), not by typing it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import get_current_worker

from fuseboard.text import visible
from fuseboard.tui.common import ago
from fuseboard.tui.log import record_failure
from fuseboard.tui.messages import Loaded, LoadFailed
from fuseboard.tui.widgets.table import Column, VirtualTable

if TYPE_CHECKING:
    from fuseboard.ops.connect import Workspace
    from fuseboard.ops.views import VersionInfo


@dataclass(frozen=True)
class VersionsData:
    """A model's versions, newest first, with what the dialog marks: known-good and rolled back from in
    the environment, and which version runs where."""

    task: str
    versions: list[VersionInfo]
    good: set[int]
    revoked: set[int]
    runs: dict[str, int]  # environment -> version


def fetch_versions(ws: Workspace, model: str, env: str) -> VersionsData | None:
    from fuseboard.ops.views import model_detail, rollout_history

    detail = model_detail(ws, model, audit_limit=1)
    if detail is None:
        return None
    rollouts = rollout_history(ws, model, env) or []
    good = {r.to_version for r in rollouts if r.known_good}
    revoked = {r.to_version for r in rollouts if r.revoked_at is not None} - good
    return VersionsData(detail.task, sorted(detail.versions, key=lambda v: -v.version), good, revoked,
                        {d.environment: d.version for d in detail.deployments})


class VersionDialog(ModalScreen[int | None]):
    """Every version of a model, newest first: ``enter`` chooses one (the change is confirmed next), esc cancels."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="versions.cancel", tooltip="close without choosing")]

    def __init__(self, model: str, env: str, serving: int | None) -> None:
        super().__init__()
        self.model, self.env, self.serving = model, env, serving
        self.data: VersionsData | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="versions-dialog"):
            now = f" (now v{self.serving})" if self.serving is not None else ""
            yield Static(Text(visible(f"Deploy {self.model} into {self.env}{now}"), style="bold"), id="dialog-title")
            yield VirtualTable(self._columns(()), empty_text="loading the versions…", id="versions")
            yield Static(Text("↑/↓ choose · enter: next (the change is confirmed there) · esc cancels · "
                              "★ known-good here · ▶ serving here", style="dim"), id="dialog-error")

    def _columns(self, metrics: tuple[str, ...]) -> list[Column]:
        return [Column("ver", "ver", 5), Column("mark", "", 3), *[Column(m, m[:8], 8, "right") for m in metrics],
                Column("runs", "runs in", 16), Column("age", "age", 5, "right")]

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()
        app = self.app

        def load() -> None:  # posts its result, never waits on the UI (call_from_thread)
            worker = get_current_worker()
            try:
                data = fetch_versions(app.workspace(), self.model, self.env)
            except Exception as exc:  # noqa: BLE001  (said in the dialog, and logged)
                if not worker.is_cancelled:
                    self.post_message(LoadFailed(record_failure("load the versions", exc, url=app.url), worker))
                return
            if not worker.is_cancelled:
                self.post_message(Loaded(data, worker))

        self.run_worker(load, thread=True, exclusive=True, group="versions", name="versions", exit_on_error=False)

    def _empty(self, text: str) -> None:
        table = self.query_one(VirtualTable)
        table.empty_text = visible(text)
        table.set_rows([], [])

    def on_load_failed(self, message: LoadFailed) -> None:
        self._empty(message.error)

    def on_loaded(self, message: Loaded[VersionsData | None]) -> None:
        from fuseboard.monitoring.metrics import SHOWN, format_metric

        data = message.data
        if data is None:
            self._empty(f"model {self.model!r} no longer exists")
            return
        table = self.query_one(VirtualTable)
        self.data = data
        metrics = tuple(SHOWN.get(data.task, ()))[:2]
        table.set_columns(self._columns(metrics))

        def row(v: VersionInfo) -> tuple[Any, ...]:
            mark = ("▶" if v.version == self.serving else " ") + (
                "★" if v.version in data.good else "↶" if v.version in data.revoked else " ")
            runs = ",".join(env for env, version in data.runs.items() if version == v.version) or "-"
            return (f"v{v.version}", mark, *[format_metric(v.metrics.get(m)) for m in metrics], runs,
                    ago(v.registered_at))

        versions = data.versions
        table.set_rows([v.version for v in versions], [row(v) for v in versions], keep_key=False)
        if data.revoked:
            self.query_one("#dialog-error", Static).update(Text(
                "↑/↓ choose · enter: next · esc cancels · ★ known-good here · ▶ serving · "
                "↶ rolled back from here",
                style="dim"))
        # start on the newest version other than the one serving
        others = [v.version for v in versions if v.version != self.serving]
        if others:
            table.move_to_key(others[0])

    @on(VirtualTable.Selected, "#versions")
    def _chosen(self, event: VirtualTable.Selected) -> None:
        self.dismiss(int(event.key))

