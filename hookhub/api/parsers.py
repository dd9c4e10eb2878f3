"""The API's JSON parser: a document nested too deeply for Python's parser is the client's
error (400), not a RecursionError and a 500."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class DepthSafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


# For operations whose bodies hold null or nested JSON (payloads, schemas, header maps,
# `rate_limit: null`): a form encoding cannot express those, so the document offers (and
# the server parses) JSON only. Operations with a few plain scalars keep the form encodings.
JSON_ONLY = [DepthSafeJSONParser]
