"""The placement form: validated numeric fields (arrow keys nudge), blend mode and toggles, read as a Placement."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.style import Style
from textual.validation import ValidationResult, Validator
from textual.widgets import Checkbox, Input, Label, Select, Static

from garbtui.core.workspace.models import BLEND_MODES, Placement

NUMBER_CHARS = frozenset("0123456789.-+")
AUTO = "auto"


def parse_number(text: str) -> float | None:
    """A finite float from typed text, or None."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def format_number(value: float) -> str:
    """Short, exact enough for fields: 640, 0.25, 12.5 (no trailing zeros, at most 4 decimals)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class RangeValidator(Validator):
    """A number within [low, high]; `auto` too when allowed; high_open excludes `low` itself (scale > 0)."""

    def __init__(self, name: str, low: float, high: float, *, allow_auto: bool = False, low_open: bool = False) -> None:
        super().__init__()
        self.field_name = name
        self.low = low
        self.high = high
        self.allow_auto = allow_auto
        self.low_open = low_open

    def validate(self, value: str) -> ValidationResult:
        text = value.strip().lower()
        if self.allow_auto and text == AUTO:
            return self.success()
        number = parse_number(text)
        what = "a number" + (" or auto" if self.allow_auto else "")
        if number is None:
            return self.failure(f"{self.field_name}: {what}, got {value.strip() or 'nothing'!r}")
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or number > self.high:
            low = f"above {self.low:g}" if self.low_open else f"at least {self.low:g}"
            return self.failure(f"{self.field_name}: must be {low} and at most {self.high:g}, got {number:g}")
        return self.success()


class NumberField(Input):
    """An Input for one number. up/down nudge by `step`, shift+up/down by `big`.

    Letters it cannot hold are not swallowed: they reach the screen's bindings, so `a`, `s`, `R`... work
    while a field has focus.
    """

    DEFAULT_CSS = """
    NumberField { width: 1fr; height: 3; }
    """
    BINDINGS = [
        Binding("up", "nudge(1)", "Nudge", key_display="↑↓", show=False),
        Binding("down", "nudge(-1)", "Nudge down", show=False),
        Binding("shift+up", "nudge(10)", "Nudge ×10", key_display="⇧↑↓", show=False),
        Binding("shift+down", "nudge(-10)", "Nudge down ×10", show=False),
    ]

    class Nudged(Message):
        """The user nudged a field that holds `auto`: the form asks what number `auto` stands for."""

    def __init__(
        self,
        key: str,
        validator: RangeValidator,
        *,
        step: float,
        auto_value: Callable[[], float | None] | None = None,
        id: str | None = None,  # noqa: A002 - Textual's keyword for a widget's id
    ) -> None:
        super().__init__("", id=id, validators=[validator], validate_on=["changed", "submitted"], compact=True)
        self.key = key
        self.range = validator
        self.step = step
        self.auto_value = auto_value
        self.allowed = NUMBER_CHARS | (frozenset(AUTO) if validator.allow_auto else frozenset())

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # Only the characters a number (or `auto`) can hold; the footer then keeps showing the screen's keys.
        return character is not None and character.lower() in self.allowed

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character is not None and event.character.lower() not in self.allowed:
            event.prevent_default()  # not ours: let it bubble to the screen's bindings

    def action_nudge(self, times: int) -> None:
        current = parse_number(self.value)
        if current is None and self.value.strip().lower() == AUTO and self.auto_value is not None:
            current = self.auto_value()
        if current is None:
            self.app.bell()
            return
        value = current + times * self.step
        low, high = self.range.low, self.range.high
        if self.range.low_open and value <= low:
            self.app.bell()  # a scale of 0 or less makes no picture: stay where we are
            return
        value = min(high, max(low, value))
        # Snap to the step grid's precision, so 0.1 + 0.05 does not show 0.15000000000000002.
        value = round(value, 4)
        self.value = format_number(value)
        self.cursor_position = len(self.value)


class StateCheckbox(Checkbox):
    """A checkbox whose state reads by shape, not by colour: `[✓]` on, `[ ]` off, in every theme."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button") if self.value else Style(bold=True)
        return Content.assemble("[", ("✓" if self.value else " ", style), "] ")


def up_arrow(rotation: float) -> str:
    """Where the fragment's own "up" (up in its source photo) points on screen after `rotation`° anticlockwise."""
    arrows = "↑↖←↙↓↘→↗"  # every 45° anticlockwise from up
    return arrows[round((rotation % 360) / 45) % 8]


@dataclass(frozen=True)
class FieldSpec:
    """One numeric field of the form: its key in Placement, label, range and nudge step."""

    key: str
    label: str
    low: float
    high: float
    step: float
    allow_auto: bool = False
    low_open: bool = False


def field_specs(width: int, height: int) -> list[FieldSpec]:
    """The numeric fields for a background of width x height (contact point may lie off the image: clipped)."""
    px = max(1.0, round(max(width, height) / 200))
    return [
        FieldSpec("x", "x", -float(width), 2.0 * width, px),
        FieldSpec("y", "y", -float(height), 2.0 * height, px),
        FieldSpec("scale", "scale", 0.0, 100.0, 0.05, allow_auto=True, low_open=True),
        FieldSpec("rotation", "rotation°", -360.0, 360.0, 1.0),
    ]


class PlacementForm(Vertical):
    """Edits one Placement. Posts `Edited` with a new Placement whenever every field is valid and one changed.

    Invalid text shows its reason under the fields and nothing is posted, so nothing is rerendered.
    """

    DEFAULT_CSS = """
    PlacementForm { height: auto; padding: 0 1; }
    PlacementForm .pf-row { height: 1; }
    PlacementForm .pf-label { width: 11; color: $text-muted; }
    PlacementForm NumberField { height: 1; border: none; background: $boost; }
    PlacementForm NumberField:focus { background: $primary 30%; }
    PlacementForm NumberField.-invalid { background: $error 30%; }
    PlacementForm Select { width: 1fr; }
    PlacementForm Checkbox { height: 1; border: none; padding: 0; background: $surface; }
    PlacementForm #pf-error { height: auto; color: $error; }
    PlacementForm #pf-crop { height: 1; color: $text; text-style: bold; }
    """

    class Edited(Message):
        """Every field is valid and the placement differs from the one loaded."""

        def __init__(self, placement: Placement) -> None:
            super().__init__()
            self.placement = placement

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's keyword for a widget's id
        super().__init__(id=id)
        self.placement: Placement | None = None
        self.specs = field_specs(1000, 1000)
        self.auto_scale: Callable[[], float | None] = lambda: None
        self._external: dict[str, str] = {}  # errors found outside the fields (y above the horizon)
        self._label = ""  # the loaded fragment's label

    def compose(self) -> ComposeResult:
        yield Static("no placement: press a to add one", id="pf-crop")
        for spec in self.specs:
            with Horizontal(classes="pf-row"):
                yield Label(spec.label, classes="pf-label")
                validator = RangeValidator(spec.label, spec.low, spec.high, allow_auto=spec.allow_auto,
                                           low_open=spec.low_open)
                yield NumberField(spec.key, validator, step=spec.step, id=f"pf-{spec.key}",
                                  auto_value=(lambda: self.auto_scale()) if spec.allow_auto else None)
        with Horizontal(classes="pf-row"):
            yield Label("blend", classes="pf-label")
            yield Select([(m, m) for m in BLEND_MODES], value="feather", allow_blank=False, compact=True, id="pf-blend")
        yield StateCheckbox("flip", id="pf-flip", compact=True)
        yield StateCheckbox("colour match", True, id="pf-color_match", compact=True)
        yield StateCheckbox("shadow", id="pf-shadow", compact=True)
        yield Static("", id="pf-error")

    def field(self, key: str) -> NumberField:
        return self.query_one(f"#pf-{key}", NumberField)

    def set_background(self, width: int, height: int) -> None:
        """Ranges and steps follow the background's size."""
        self.specs = field_specs(width, height)
        for spec in self.specs:
            f = self.field(spec.key)
            f.range.low, f.range.high, f.step = spec.low, spec.high, spec.step

    def load(self, placement: Placement | None, label: str = "") -> None:
        """Show `placement` in the fields (None: an empty, disabled form)."""
        self.placement = placement
        self._external.clear()
        self._show_title(label)
        for spec in self.specs:
            f = self.field(spec.key)
            f.disabled = placement is None
            value = getattr(placement, spec.key) if placement is not None else ""
            text = value if isinstance(value, str) else format_number(float(value))
            if f.value != text:
                f.value = text
            f.set_class(False, "-invalid")
        blend = self.query_one("#pf-blend", Select)
        blend.disabled = placement is None
        # Nothing selected: the form shows a new placement's defaults, not the last one's.
        want_blend = placement.blend if placement is not None else Placement.model_fields["blend"].default
        if blend.value != want_blend:
            blend.value = want_blend
        for key in ("flip", "color_match", "shadow"):
            box = self.query_one(f"#pf-{key}", Checkbox)
            box.disabled = placement is None
            want = bool(getattr(placement, key)) if placement is not None else bool(
                Placement.model_fields[key].default)
            if box.value != want:
                box.value = want
        self._show_errors([])

    def _show_title(self, label: str = "") -> None:
        """The fragment's label and where its own "up" points (rotation 0: as it lay in its photo)."""
        self._label = label or self._label
        placement = self.placement
        if placement is None:
            self.query_one("#pf-crop", Static).update("no placement: press a to add one")
            return
        # The arrow first, so a long label never hides it: where "up" of the fragment's own photo points now.
        self.query_one("#pf-crop", Static).update(
            Text.assemble((up_arrow(placement.rotation), "bold"), " ", (self._label or placement.crop_id, "bold"),
                          no_wrap=True, overflow="ellipsis"))

    def read(self) -> tuple[Placement | None, list[str]]:
        """The placement the fields describe, or None and the reasons it is invalid."""
        if self.placement is None:
            return None, []
        errors: list[str] = []
        values: dict[str, object] = {}
        for spec in self.specs:
            f = self.field(spec.key)
            result = f.range.validate(f.value)
            if not result.is_valid:
                errors.extend(result.failure_descriptions)
                continue
            text = f.value.strip().lower()
            current = getattr(self.placement, spec.key)
            if isinstance(current, (int, float)) and text == format_number(float(current)):
                continue  # the field shows the value rounded: unchanged text keeps it exact (0.251472, not 0.2515)
            values[spec.key] = AUTO if text == AUTO else float(text)
        if errors:
            return None, errors
        if values.get("scale") != self.placement.scale:
            values["scale_from"] = None  # a scale typed here is the user's, whatever chose the one before
        values["blend"] = str(self.query_one("#pf-blend", Select).value)
        for key in ("flip", "color_match", "shadow"):
            values[key] = self.query_one(f"#pf-{key}", Checkbox).value
        if values["shadow"] and self.placement.shadow == "auto":
            values["shadow"] = "auto"  # a ticked box keeps the default: a shadow when the fragment lies on the ground
        try:
            return self.placement.model_copy(update=values), []
        except ValueError as exc:  # pragma: no cover - the validators above mirror the model's rules
            return None, [str(exc)]

    def set_external_error(self, key: str, message: str | None) -> None:
        """An error found outside the field's own rule (y above the horizon); shown until the field changes."""
        if message:
            self._external[key] = message
        else:
            self._external.pop(key, None)
        f = self.query_one(f"#pf-{key}")
        f.set_class(bool(message), "-invalid")
        self._show_errors([])

    @property
    def errors(self) -> str:
        return str(self.query_one("#pf-error", Static).render())

    def _show_errors(self, errors: list[str]) -> None:
        lines = list(errors) + list(self._external.values())
        self.query_one("#pf-error", Static).update("\n".join(lines))

    def _changed(self) -> None:
        if self.placement is None:
            return
        placement, errors = self.read()
        self._external.clear()
        for spec in self.specs:
            f = self.field(spec.key)
            f.set_class(not f.range.validate(f.value).is_valid, "-invalid")
        self._show_errors(errors)
        if placement is not None and placement != self.placement:
            self.post_message(self.Edited(placement))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._changed()

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._changed()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._changed()

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._changed()

    def accept(self, placement: Placement) -> None:
        """The screen took `placement` (after its own checks): later edits are compared with it."""
        self.placement = placement
        self._show_title()
