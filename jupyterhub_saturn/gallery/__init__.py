"""Published notebooks: a crash-safe store and a sanitized, script-free renderer.

Pure Python (nbformat, nbconvert, bleach); no JupyterHub or tornado imports. The hub's
handlers turn :class:`~jupyterhub_saturn.errors.SaturnError` into HTTP answers and serve
:func:`to_html` output with :data:`RENDERED_CSP`.
"""

from .errors import InvalidField, InvalidNotebook, NotAuthor, NotebookTooLarge, UnknownFormat, UnknownNotebook
from .exports import FORMATS, Export, GalleryExports
from .ids import ID_PATTERN, check_id
from .render import (
    DOWNLOAD_HEADERS,
    RENDERED_CSP,
    RENDERED_HEADERS,
    RenderFailed,
    to_html,
    to_ipynb,
    to_markdown,
    to_python,
)
from .store import NotebookStore, Record

__all__ = [
    "DOWNLOAD_HEADERS", "FORMATS", "ID_PATTERN", "RENDERED_CSP", "RENDERED_HEADERS",
    "Export", "GalleryExports", "InvalidField", "InvalidNotebook", "NotAuthor", "NotebookStore",
    "NotebookTooLarge", "Record", "RenderFailed", "UnknownFormat", "UnknownNotebook",
    "check_id", "to_html", "to_ipynb", "to_markdown", "to_python",
]
