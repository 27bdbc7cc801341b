"""The API's parsers: where bytes become values, and where values the platform can't store stop.

Set as DRF's DEFAULT_PARSER_CLASSES (and used by the import endpoints), so every view reads bodies
through them:
- a JSON body must be an object (an array, a string, a number or `null` is a 400: every endpoint
  takes named fields), nested no deeper than Python's json can read (a RecursionError is a 400);
- no string anywhere in a body, JSON or form, may hold a lone surrogate or a NUL character
  (labeling.text explains why): a 400 naming the first such field, before any view sees it.
"""

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from labeling.text import check_text


class JSONObjectParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["the body must be a JSON object"]})
        return check_text(data)


def check_form(data):
    """The same text check on a form's fields (keys and every value)."""
    if isinstance(data, QueryDict):
        check_text({key: data.getlist(key) for key in data})
    return data


class CheckedFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return check_form(super().parse(stream, media_type, parser_context))


class CheckedMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        check_form(result.data)
        return result

