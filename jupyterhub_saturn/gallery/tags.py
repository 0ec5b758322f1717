"""Tags on published notebooks: short lower-case words readers filter the gallery by.

A tag is 1-:data:`MAX_TAG_CHARS` characters of ``a-z``, ``0-9`` and single hyphens between
them (``linear-algebra``, ``week-3``); a notebook has at most :data:`MAX_TAGS`. Input is a
list of strings (JSON) or one comma-separated string (a form field, the CLI); surrounding
blanks are trimmed, upper case is lowered and repeats are dropped, anything else is an
:class:`~.errors.InvalidField` (HTTP 400) naming ``tags``. Pure Python.
"""

from __future__ import annotations

import re

from .errors import InvalidField

MAX_TAGS = 8
MAX_TAG_CHARS = 30
TAG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: what a bad tag is told to look like
TAG_RULE = (f"1-{MAX_TAG_CHARS} lower-case letters a-z, digits and single hyphens between them, "
            "e.g. linear-algebra")
#: more input than this is refused before it is split (a form field or JSON list of any size)
_MAX_INPUT_CHARS = MAX_TAGS * (MAX_TAG_CHARS + 2) * 4


def parse_tags(value: object) -> tuple[str, ...]:
    """The tags in ``value`` (a list of strings, a comma-separated string, or None for none)."""
    if value is None:
        return ()
    if isinstance(value, str):
        if len(value) > _MAX_INPUT_CHARS:
            raise InvalidField(f"tags is {len(value)} characters; at most {MAX_TAGS} tags of "
                               f"{MAX_TAG_CHARS} characters are allowed", field="tags")
        items: list = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InvalidField("tags must be a list of strings or one comma-separated string", field="tags")
    if len(items) > MAX_TAGS:
        raise InvalidField(f"tags has {len(items)} tags; at most {MAX_TAGS} are allowed", field="tags")
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidField(f"tags[{i}] must be a string", field="tags")
        tag = item.strip().lower()
        if len(tag) > MAX_TAG_CHARS or not TAG_RE.fullmatch(tag):
            raise InvalidField(f"tags[{i}] {item[:40]!r} is not a tag: use {TAG_RULE}", field="tags")
        if tag not in out:
            out.append(tag)
    return tuple(out)
