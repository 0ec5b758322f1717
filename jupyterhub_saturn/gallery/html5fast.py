"""Linear-time replacements for two quadratic spots in bleach's vendored html5lib.

Found by rendering large notebooks: cleaning a 100k-row table, or 1 MB of escaped text,
took minutes. (1) The etree tree walker finds a parent's position among its siblings
with ``list.count``/``list.index`` on every climb: quadratic in the number of siblings.
(2) The tree builder appends each character token to ``element.text`` with ``+=``, and
the tokenizer emits one token per entity (``&lt;``): quadratic in text-node length.
Same walk and same tree, with child positions indexed once and adjacent character tokens
joined before they reach the tree builder.
"""

from __future__ import annotations

import bleach
from bleach.html5lib_shim import BleachHTMLParser, BleachHTMLTokenizer

_CHARACTERS = bleach.html5lib_shim.TAG_TOKEN_TYPE_CHARACTERS
_SPACES = bleach.html5lib_shim.constants.tokenTypes["SpaceCharacters"]
_EtreeWalker = bleach.html5lib_shim.getTreeWalker("etree")


class LinearWalker(_EtreeWalker):
    """The etree walker, with each element's child positions computed once per walk."""

    def getParentNode(self, node):  # noqa: N802 - html5lib's name
        if not isinstance(node, tuple):
            return None
        element, key, parents, flag = node
        if flag == "text":
            return element if not parents else (element, key, parents, None)
        parent = parents.pop()
        if not parents:
            return parent
        return parent, self._position(parents[-1], parent), parents, None

    def _position(self, grandparent, parent) -> int:
        cache = self.__dict__.setdefault("_positions", {})
        positions = cache.get(id(grandparent))
        if positions is None:
            positions = cache[id(grandparent)] = {id(child): i for i, child in enumerate(grandparent)}
        return positions[id(parent)]


class CoalescingTokenizer(BleachHTMLTokenizer):
    """Joins runs of character tokens into one token.

    Look-ahead never passes a tag: a run ends at the first other token, which is handed on
    at once, so the parser still switches tokenizer states (RAWTEXT, RCDATA...) in time.
    A token holding U+0000 is never joined: the tree builder treats a lone NUL specially.
    Space after a run of only empty tokens (what a stripped tag leaves) stays a space token:
    the tree builder drops the newline right after ``<pre>`` only from a space token.
    """

    def __iter__(self):
        texts: list[str] = []
        for token in super().__iter__():
            if texts and token["type"] == _SPACES and not any(texts):
                yield {"type": _CHARACTERS, "data": ""}
                texts = []
            joinable = token["type"] == _CHARACTERS or (texts and token["type"] == _SPACES)
            if joinable and "\x00" not in token["data"]:
                texts.append(token["data"])
                continue
            if texts:
                yield {"type": _CHARACTERS, "data": "".join(texts)}
                texts = []
            yield token
        if texts:
            yield {"type": _CHARACTERS, "data": "".join(texts)}


class CoalescingParser(BleachHTMLParser):
    """bleach's parser, driving a :class:`CoalescingTokenizer`."""

    def mainLoop(self):  # noqa: N802 - html5lib's name
        if type(self.tokenizer) is BleachHTMLTokenizer:
            self.tokenizer.__class__ = CoalescingTokenizer  # created inside bleach's _parse()
        return super().mainLoop()


def make_linear(cleaner: bleach.Cleaner) -> bleach.Cleaner:
    """Switch ``cleaner`` to the linear-time parser and walker (same output)."""
    cleaner.parser = CoalescingParser(tags=cleaner.tags, strip=cleaner.strip, consume_entities=False,
                                      namespaceHTMLElements=False)
    cleaner.walker = LinearWalker
    return cleaner
