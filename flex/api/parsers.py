"""Request bodies the partner API reads: JSON only, refused cleanly however it is malformed."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with one more refusal: a document nested deeper than Python can parse
    (thousands of `[`) raises RecursionError, not ValueError, and would otherwise be a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
