"""The placement screen's lists (backgrounds, cleaned fragments, placements): one-line prompts, and
refilling an OptionList without losing the user's place in it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from garbtui.core.errors import GarbError
from garbtui.core.workspace.models import BackgroundMeta, CropMeta, Placement
from garbtui.core.workspace.store import Workspace
from garbtui.tui.data.ids import middle_ellipsis, unique_middle_ellipsis
from garbtui.tui.widgets.placement_fields import format_number

NO_FRAGMENT = "-none-"  # the id of the fragment list's "no cleaned crops yet" line

LIST_TEXT = 40  # characters an entry may take: OptionList wraps longer ones, which reads badly in a list


def fit(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def list_width(option_list: OptionList) -> int:
    """Characters an entry of `option_list` may take (LIST_TEXT before the list has a size)."""
    width = option_list.scrollable_content_region.width
    return min(width, LIST_TEXT) if width > 4 else LIST_TEXT


def background_prompt(meta: BackgroundMeta, width: int = LIST_TEXT, short_id: str | None = None) -> Text:
    """Two lines: scene kind and id (cut in the middle); size and (road) horizon row."""
    horizon = f"h {meta.horizon_row:g}" if meta.horizon_row is not None else "no horizon"
    detail = f"{meta.width}×{meta.height}" + (f" · {horizon}" if meta.scene == "road" else "")
    name = short_id if short_id is not None else middle_ellipsis(meta.id, width - 6)
    return Text.assemble((f"{meta.scene:<6}", "bold"), f"{name}\n", (fit(f"      {detail}", width), "dim"),
                         no_wrap=True)


def fragment_prompt(meta: CropMeta, width: int = LIST_TEXT, short_id: str | None = None) -> Text:
    """Label first (what the user looks for), then the crop id (cut in the middle); two lines when narrow."""
    if width < 36:
        name = short_id if short_id is not None else middle_ellipsis(meta.id, width - 2)
        return Text.assemble((fit(meta.label, width), "bold"), "\n", (f"  {name}", "dim"), no_wrap=True)
    name = short_id if short_id is not None else middle_ellipsis(meta.id, width - 19)
    return Text.assemble((f"{meta.label:<18.18}", "bold"), " ", (name, "dim"), no_wrap=True)


def placement_prompt(index: int, p: Placement, label: str, width: int = LIST_TEXT) -> Text:
    """`1 Drink can 300,420 ×auto 20° flip feather`: number (1-based), label, contact point, scale, extras;
    the label on a line of its own when the list is narrow."""
    scale = p.scale if isinstance(p.scale, str) else format_number(p.scale)
    narrow = width < 36
    text = Text.assemble((f"{index + 1:>2} ", "bold"), fit(label, width - 3) if narrow else f"{label:<12.12}",
                         "\n   " if narrow else " ", f"{format_number(p.x)},{format_number(p.y)}",
                         (f" ×{scale}", "dim"), no_wrap=True)
    if p.rotation:
        text.append(f" {format_number(p.rotation)}°", style="dim")
    if p.flip:
        text.append(" flip", style="dim")
    text.append(f" {p.blend}", style="dim")
    return text


def fill_backgrounds(bg_list: OptionList, ws: Workspace, keep: str | None) -> bool:
    """Every background of `ws` (an unreadable one greyed out, with why); `keep` stays highlighted when it
    is still there. False when the workspace has no backgrounds."""
    options: list[Option] = []
    width = list_width(bg_list)
    bg_ids = ws.background_ids()
    short = unique_middle_ellipsis(bg_ids, width - 6)
    for bg_id in bg_ids:
        try:
            options.append(Option(background_prompt(ws.load_background_meta(bg_id), width, short[bg_id]), id=bg_id))
        except GarbError as exc:
            options.append(Option(Text(f"{bg_id}: {exc.message}", style="dim"), id=bg_id, disabled=True))
    if [o.id for o in options] == [o.id for o in bg_list.options]:
        for index, option in enumerate(options):  # same backgrounds: refresh their details in place
            bg_list.replace_option_prompt_at_index(index, option.prompt)
        return True
    bg_list.set_options(options)
    if not options:
        return False
    ids = [o.id for o in options]
    bg_list.highlighted = ids.index(keep) if keep in ids else 0
    return True


def fill_fragments(frag_list: OptionList, metas: Sequence[CropMeta]) -> None:
    """The cleaned crops, label first; the highlighted one stays highlighted."""
    width = list_width(frag_list)
    short = unique_middle_ellipsis([m.id for m in metas], width - 2 if width < 36 else width - 19)
    options = [Option(fragment_prompt(meta, width, short[meta.id]), id=meta.id) for meta in metas]
    if [o.id for o in options] == [o.id for o in frag_list.options]:
        for index, option in enumerate(options):  # same fragments: fit them to the list's width again
            frag_list.replace_option_prompt_at_index(index, option.prompt)
        return
    current = frag_list.highlighted_option.id if frag_list.highlighted_option is not None else None
    frag_list.set_options(options)
    if not options:
        frag_list.add_option(Option(Text("no cleaned crops yet: clean some on the queue screen", style="italic"),
                                    id=NO_FRAGMENT, disabled=True))
        return
    ids = [o.id for o in options]
    frag_list.highlighted = ids.index(current) if current in ids else 0


def fill_placements(plist: OptionList, prompts: Sequence[Text], selected: int | None) -> None:
    """The placements (prompts replaced in place while their number stays), the selected one highlighted."""
    if plist.option_count == len(prompts):
        for i, prompt in enumerate(prompts):
            plist.replace_option_prompt_at_index(i, prompt)
    else:
        plist.set_options([Option(p) for p in prompts])
    if selected is not None and plist.highlighted != selected:
        plist.highlighted = selected
