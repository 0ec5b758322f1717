"""Gallery errors: each carries the HTTP status an adapter should answer with."""

from __future__ import annotations

from ..errors import SaturnError


class InvalidNotebook(SaturnError):
    """The uploaded notebook is not JSON or not a valid nbformat 4 document (HTTP 400)."""

    status = 400


class InvalidField(SaturnError):
    """A publish argument (title, description, environment, author, id) is malformed (HTTP 400)."""

    status = 400


class NotebookTooLarge(SaturnError):
    """The notebook exceeds the store's size limit (HTTP 413)."""

    status = 413


class UnknownNotebook(SaturnError):
    """No published notebook has this id (HTTP 404)."""

    status = 404


class NotAuthor(SaturnError):
    """Only the author (or an admin) may change or remove a published notebook (HTTP 403)."""

    status = 403


class RenderFailed(InvalidNotebook):
    """The notebook could not be turned into provably safe HTML (HTTP 422); nothing unsafe is returned."""

    status = 422


class UnknownFormat(SaturnError):
    """An export format that does not exist was asked for (HTTP 400)."""

    status = 400
