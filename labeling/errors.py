"""The domain's errors: a request that breaks a rule, or that the state of an object forbids.

Domain code (labeling, training) raises these and knows nothing of HTTP; the web layer maps every
DomainError to a response in one place (web/errors.py: DRF's EXCEPTION_HANDLER), from `status` and
`field`. A field may be dotted (`config.learning_rate`): the answer nests it, {"config":
{"learning_rate": [message]}}, the shape DRF gives a nested serializer's errors.
"""


class DomainError(Exception):
    """Base of the errors the API turns into 4xx answers: `status`, and the request `field` to blame
    (None: the request as a whole, answered as {"detail": message})."""

    status = 400

    def __init__(self, field=None, message="", status=None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        if status is not None:
            self.status = status


class RuleError(DomainError, ValueError):
    """A broken labeling rule, tied to the request field it came from (a 400 naming it)."""

    def __init__(self, field, message):
        super().__init__(field, message)


class Conflict(DomainError):
    """The request is well formed but the state of the object forbids it (HTTP 409)."""

    status = 409

    def __init__(self, message):
        super().__init__(None, message)


class TooLarge(DomainError):
    """A body, upload or decompressed file over its limit (HTTP 413)."""

    status = 413
