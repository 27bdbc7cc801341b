"""Query parameters read through declared fields, like bodies: `query(request, after_step=IntegerField())`
gives the validated values or raises a 400 naming the parameter. Integers are plain ASCII digits
within bounds (DRF's IntegerField; `str.isdigit()` would take "²" and crash on int()). An empty
parameter (`?split=`) counts as absent."""

from rest_framework import serializers

# Bounds of the database's 64-bit integer ids: a bigger id can only be "not found" or a 400.
MAX_ID = 2**63 - 1


def query(request, **fields):
    form = type("QueryParams", (serializers.Serializer,), dict(fields))(  # the metaclass pops what it is given
        data={name: request.query_params[name] for name in fields if request.query_params.get(name, "") != ""})
    form.is_valid(raise_exception=True)
    return form.validated_data


def id_field(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
