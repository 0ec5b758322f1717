"""The spawn form: HTML generated from the catalog, showing only what the user may choose.

Pure presentation (no JupyterHub import): give it the catalog, the user's groups, the
previous choice and a few notices; it returns the HTML fragment JupyterHub puts inside
its own ``<form>``. The field names are the user_options keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from ..profiles import Catalog, entitled_choices
from ..profiles.quantities import format_cpu, format_size

FORM_CSS = """
<style>
.saturn-form fieldset { margin-bottom: 1.2em; }
.saturn-form legend { font-size: 1.1em; font-weight: 600; margin-bottom: .4em; }
.saturn-form .saturn-cards { display: flex; flex-wrap: wrap; gap: .6em; }
.saturn-form .saturn-card { border: 1px solid #ccc; border-radius: 6px; padding: .6em .9em; min-width: 11em; cursor: pointer; }
.saturn-form .saturn-card input { margin-right: .4em; }
.saturn-form .saturn-card:has(input:checked) { border-color: #f37524; box-shadow: 0 0 0 2px #f3752455; }
.saturn-form .saturn-detail { color: #666; font-size: .9em; display: block; }
.saturn-form .saturn-note { color: #6c5300; background: #fff8e1; border-radius: 4px; padding: .3em .6em; font-size: .9em; }
</style>
"""


@dataclass
class ExtraField:
    """A select field another part of the product adds (e.g. auto-shutoff)."""

    name: str
    label: str
    options: Sequence[tuple[str, str]]
    selected: str | None = None
    note: str = ""


@dataclass
class FormContext:
    """Everything the form shows besides the catalog."""

    groups: Iterable[str] = ()
    previous: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    gpu_free: Mapping[str, int] | None = None
    extra_fields: Sequence[ExtraField] = ()


def _pick(allowed: Mapping, previous: str | None, default: str) -> str:
    if previous in allowed:
        return previous
    if default in allowed:
        return default
    return next(iter(allowed))


def _note(ctx: FormContext, kind: str) -> str:
    text = ctx.notes.get(kind)
    return f'<p class="saturn-note" id="saturn-note-{kind}">{escape(text)}</p>' if text else ""


def _size_cards(catalog: Catalog, ctx: FormContext, groups) -> str:
    allowed = entitled_choices(catalog, "size", groups)
    chosen = _pick(allowed, ctx.previous.get("size"), catalog.defaults["size"])
    cards = []
    for key, size in allowed.items():
        checked = " checked" if key == chosen else ""
        detail = f"{format_cpu(size.cpu)} CPU · {format_size(size.memory)} RAM"
        desc = f'<span class="saturn-detail">{escape(size.description)}</span>' if size.description else ""
        cards.append(
            f'<label class="saturn-card"><input type="radio" name="size" value="{escape(key)}"{checked}>'
            f"<strong>{escape(size.display_name)}</strong>"
            f'<span class="saturn-detail">{escape(detail)}</span>{desc}</label>'
        )
    return (
        '<fieldset><legend>Size</legend><div class="saturn-cards">'
        + "".join(cards)
        + "</div>"
        + _note(ctx, "size")
        + "</fieldset>"
    )


def _select(name: str, label: str, options: Sequence[tuple[str, str]], selected: str | None, note: str) -> str:
    opts = "".join(
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(text)}</option>'
        for v, text in options
    )
    return (
        f'<fieldset><legend><label for="saturn-{escape(name)}">{escape(label)}</label></legend>'
        f'<select class="form-select" id="saturn-{escape(name)}" name="{escape(name)}">{opts}</select>{note}</fieldset>'
    )


def render_form(catalog: Catalog, ctx: FormContext) -> str:
    """The HTML of the spawn form for one user."""
    groups = set(ctx.groups)
    parts = [FORM_CSS, '<div class="saturn-form">', _size_cards(catalog, ctx, groups)]

    gpus = entitled_choices(catalog, "gpu", groups)
    if len(gpus) > 1:
        options = []
        for key, gpu in gpus.items():
            text = gpu.display_name
            if gpu.count and ctx.gpu_free is not None and key in ctx.gpu_free:
                text += f" ({ctx.gpu_free[key]} free)"
            options.append((key, text))
        chosen = _pick(gpus, ctx.previous.get("gpu"), catalog.defaults["gpu"])
        parts.append(_select("gpu", "GPU", options, chosen, _note(ctx, "gpu")))

    disks = entitled_choices(catalog, "disk", groups)
    chosen = _pick(disks, ctx.previous.get("disk"), catalog.defaults["disk"])
    parts.append(_select("disk", "Disk", [(k, d.display_name) for k, d in disks.items()], chosen, _note(ctx, "disk")))

    images = entitled_choices(catalog, "image", groups)
    chosen = _pick(images, ctx.previous.get("image"), catalog.defaults["image"])
    image_opts = [(k, i.display_name + (f" — {i.description}" if i.description else "")) for k, i in images.items()]
    parts.append(_select("image", "Environment", image_opts, chosen, _note(ctx, "image")))

    for extra in ctx.extra_fields:
        note = f'<p class="saturn-note">{escape(extra.note)}</p>' if extra.note else ""
        parts.append(_select(extra.name, extra.label, extra.options, extra.selected, note))
    parts.append("</div>")
    return "\n".join(parts)


def form_to_options(form_data: Mapping[str, list], known: Iterable[str]) -> dict:
    """Turn JupyterHub's ``{field: [values]}`` form/query data into user_options.

    Known fields become single strings; unknown fields are kept (as given) so that
    validation can refuse them by name; the hub's own ``_xsrf`` field is dropped.
    """
    known = set(known)
    options: dict = {}
    for key, values in form_data.items():
        if key == "_xsrf":
            continue
        if isinstance(values, (list, tuple)):
            if key in known and len(values) == 1:
                options[key] = values[0]
            elif key in known and not values:
                continue
            else:
                options[key] = list(values) if len(values) != 1 else values[0]
        else:
            options[key] = values
    return options


def unwrap_form_values(user_options, keys: Iterable[str]):
    """``{"size": ["medium"]}`` (a form's data as ``options_from_form = "passthrough"`` keeps it) →
    ``{"size": "medium"}`` for ``keys``; other keys and other shapes are left as they are."""
    if not isinstance(user_options, Mapping):
        return user_options
    keys = set(keys)
    return {
        k: (v[0] if k in keys and isinstance(v, list) and len(v) == 1 and isinstance(v[0], str) else v)
        for k, v in user_options.items()
    }


def declared_fields(declared: Mapping, previous: Mapping) -> list[ExtraField]:
    """Select fields for the admin's declared options that have a finite set of values (choices, bool)."""
    fields = []
    for key, opt in declared.items():
        if opt.type == "bool":
            options = [("false", "No"), ("true", "Yes")]
        elif opt.choices:
            options = [(str(c), str(c)) for c in opt.choices]
        else:
            continue
        before = previous.get(key)
        selected = str(before).lower() if isinstance(before, bool) else (None if before is None else str(before))
        fields.append(ExtraField(key, opt.display_name or key, options, selected, note=opt.description))
    return fields
