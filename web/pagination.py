"""Paging with bounds: `limit` 1..MAX_LIMIT and `offset` 0..MAX_OFFSET, read through declared
fields, so `?limit=99999999999999999999` is a 400 naming the parameter, not a database overflow."""

from rest_framework import pagination, serializers

MAX_LIMIT = 1000
MAX_OFFSET = 10**9


class PageParams(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET)


class BoundedLimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def paginate_queryset(self, queryset, request, view=None):
        params = PageParams(data={k: request.query_params[k] for k in ("limit", "offset") if k in request.query_params})
        params.is_valid(raise_exception=True)
        return super().paginate_queryset(queryset, request, view)
