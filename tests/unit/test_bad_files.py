"""Property-based and hostile: whatever checklist template, config file or theme file a user writes,
it loads or is refused (or skipped) with one line naming the file. (Ingest files and command lines,
which need a workspace, are tests/integration/test_bad_input.py and test_hostile_inputs.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuseboard.errors import FuseboardError

# derandomized (hypothesis's fixed seed), FUSEBOARD_RANDOM_EXAMPLES=N explores N new examples
EXPLORE = int(os.environ.get("FUSEBOARD_RANDOM_EXAMPLES", "0"))
SETTINGS = settings(max_examples=EXPLORE or 40, deadline=None, derandomize=not EXPLORE,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def one_line(exc: FuseboardError) -> bool:
    text = str(exc)
    return bool(text) and "\n" not in text and "Traceback" not in text


items = st.fixed_dictionaries({}, optional={
    "key": st.one_of(st.text(max_size=8), st.integers()), "group": st.sampled_from(["data", "model", "nope", ""]),
    "text": st.one_of(st.text(max_size=20), st.none().map(lambda _: 3)), "required": st.one_of(st.booleans(),
                                                                                              st.text(max_size=3)),
    "verify": st.sampled_from(["", "schema_captured", "retrain_by", "bogus"]), "extra": st.integers()})


@SETTINGS
@given(template=st.one_of(st.text(max_size=200), st.lists(items, max_size=4)))
def test_any_checklist_template_loads_or_is_refused_in_one_line(tmp_path_factory, template) -> None:  # noqa: ANN001
    import tomli_w

    from fuseboard.ops.handover import load_template

    path = tmp_path_factory.mktemp("t") / "custom.toml"
    if isinstance(template, str):
        path.write_text(template, encoding="utf-8")
    else:
        try:
            path.write_text(tomli_w.dumps({"name": "custom", "items": template}), encoding="utf-8")
        except (TypeError, ValueError):
            return
    try:
        loaded = load_template(path)
    except FuseboardError as exc:
        assert one_line(exc) and str(path) in str(exc)
    else:
        assert loaded["items"] and all(i["group"] in ("data", "model") for i in loaded["items"])


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_config_file_loads_or_is_refused_in_one_line(tmp_path_factory, text: str) -> None:  # noqa: ANN001
    from fuseboard.config import Config

    path = tmp_path_factory.mktemp("c") / "config.toml"
    path.write_text(text, encoding="utf-8")
    try:
        Config.load(path)
    except FuseboardError as exc:
        assert one_line(exc) and str(path) in str(exc)


colour = st.one_of(st.sampled_from(["#112233", "red", "ansi_bright_blue", "rgb(1,2,3)", "#fff", "hsl(10,50%,50%)"]),
                   st.text(max_size=10))


theme_fields = st.fixed_dictionaries(
    {}, optional={"name": st.one_of(st.text(max_size=12), st.integers()), "primary": colour, "secondary": colour,
                  "background": colour, "error": colour, "dark": st.one_of(st.booleans(), st.text(max_size=3)),
                  "variables": st.dictionaries(st.sampled_from(["border", "block-cursor-text-style",
                                                                "footer-key-foreground", "x"]),
                                               st.one_of(colour, st.sampled_from(["bold", "bold reverse", "wobbly"])),
                                               max_size=3),
                  "surprise": st.integers()})


@SETTINGS
@given(theme=st.one_of(st.text(max_size=200), theme_fields))
def test_any_theme_file_loads_or_is_skipped_with_one_line(tmp_path_factory, theme) -> None:  # noqa: ANN001
    """A user theme either loads, and Textual can build its colours, or is skipped with one line naming the file."""
    import tomli_w

    from fuseboard.tui.themes import load_themes

    folder = tmp_path_factory.mktemp("themes")
    path = folder / "mine.toml"
    path.write_text(theme if isinstance(theme, str) else tomli_w.dumps(theme), encoding="utf-8")
    loaded = load_themes([folder])
    mine = [p for p in loaded.problems if "mine.toml" in p]
    assert all("\n" not in p for p in loaded.problems)
    if not mine:  # it loaded: Textual must be able to build the colours the console will use
        from fuseboard.tui.themes import parse_theme

        parse_theme(path).to_color_system().generate()


BAD_THEMES = {
    "not-toml": b'name = "x\n', "binary": bytes(range(256)), "no-name": b'primary = "#ff0000"\n',
    "no-primary": b'name = "t"\n', "bad-colour": b'name = "t"\nprimary = "not-a-colour"\n',
    "colour-number": b'name = "t"\nprimary = 5\n', "dark-word": b'name = "t"\nprimary = "#fff"\ndark = "yes"\n',
    "variables-list": b'name = "t"\nprimary = "#fff"\nvariables = [1]\n',
    "unknown-field": b'name = "t"\nprimary = "#fff"\nshadow = 1\n', "100kb": b"#" + b"x" * 100_000 + b"\n",
    "latin1": 'name = "caf\xe9"\nprimary = "#fff"\n'.encode("latin-1"),
}


@pytest.mark.parametrize("key", [*BAD_THEMES, "folder"])
def test_hostile_theme_file_is_reported_in_one_line_and_skipped(tmp_path: Path, key: str) -> None:
    from fuseboard.tui.themes import DEFAULT_THEME, load_themes

    folder = tmp_path / "themes"
    folder.mkdir()
    if key == "folder":
        (folder / "broken.toml").mkdir()
    else:
        (folder / "broken.toml").write_bytes(BAD_THEMES[key])
    loaded = load_themes([folder])
    assert DEFAULT_THEME in loaded.themes
    assert len(loaded.problems) == 1, loaded.problems
    assert "broken.toml" in loaded.problems[0] and "\n" not in loaded.problems[0]
    assert len(loaded.problems[0]) < 400 and "Traceback" not in loaded.problems[0]
