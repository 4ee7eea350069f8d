"""The one error type domain services raise for input they refuse."""

from __future__ import annotations


class InputError(ValueError):
    """Refused input; ``errors`` maps form fields to the Chinese messages the user reads.
    Nothing has been changed when a service raises it (the caller rolls back)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors

    @property
    def first_message(self) -> str:
        return next(iter(self.errors.values()))
