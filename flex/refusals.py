"""A refusal is a value: the rule that refuses, its article, and a message for people.

It travels unchanged from `rules.py` through services to the admin message, the portal page and
the API problem body, so that whoever is refused learns which rule and which article.
"""

from __future__ import annotations

from dataclasses import dataclass

from flex.rulebook import article_of, localised_article


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str
    field: str | None = None
    article: str = ""

    def __post_init__(self) -> None:
        if not self.article:
            object.__setattr__(self, "article", article_of(self.rule))

    def __str__(self) -> str:
        return f"{self.message} ({self.rule}, {self.localised_article})"

    @property
    def localised_article(self) -> str:
        """The article as a reader of the page's language calls it ("voorwaarden art. 2.3.4" in Dutch);
        `article` itself stays the catalogue's text, as the API's problem body gives it."""
        return localised_article(self.article)

    def as_problem(self) -> dict[str, str | None]:
        return {"rule": self.rule, "article": self.article, "message": self.message, "field": self.field}


class Refused(Exception):  # noqa: N818 - it reads as "raise Refused(refusal)"
    """Raised by a service when a rule says no; carries the `Refusal` unchanged."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal
