"""The training app's error: a launch or a state change that breaks a rule, naming the request field.

Raised by job_config, launch and runners; the web layer turns it into a 400 (or 409) naming the field.
"""

from labeling.errors import DomainError


class JobError(DomainError, ValueError):
    """A launch or state change that breaks a rule, tied to a request field (`config.k`, `input_models`)."""

    def __init__(self, field, message, status=400):
        super().__init__(field, message, status)
