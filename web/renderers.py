"""JSON out, whatever was stored: a string that is not valid Unicode (a lone surrogate saved before
the parsers refused them, or echoed in an error message) is written as a JSON escape ("\\ud800")
instead of failing to encode, so one bad record can never make a list or an error answer a 500."""

from rest_framework.renderers import JSONRenderer


class SafeJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            escaped = type(self)()
            escaped.ensure_ascii = True  # pure ASCII: every character, valid or not, as a \u escape
            return JSONRenderer.render(escaped, data, accepted_media_type, renderer_context)
