"""The labeler's hot path (`work/next`, submit) as SQL written once, read back into model instances.

Why: a profile of next + submit in-process put about half of the web tier's CPU in Django building
and compiling the same few querysets on every request (filters resolved, joins set up, SQL text
assembled), far more than executing them. These statements never change shape, so their modules
write them as SQL with the models' own table and column names (read from _meta once per process),
and the rows go through the same converters the ORM applies (an SQLite timestamp to an aware
datetime, JSON text to values), so callers get the instances a queryset would have given them.
Parameters go through the fields' own adaptation too (`datetime_param`, `insert`).

Only portable SQL (PostgreSQL and SQLite); the row locks are added where the database has them
(`lock_clause`). On PostgreSQL these statements are prepared on each connection (`_cursor`), which
halved PostgreSQL's CPU per next + submit in the same profile. Everything else keeps using the ORM.
"""

from functools import cache
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connection, connections

_CONVERTERS = WeakKeyDictionary()  # {database connection: {model: (width, converters)}}


@cache
def columns(model, alias):
    """`alias."col", ...` for every concrete field of the model, in _meta order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def table(model):
    return f'"{model._meta.db_table}"'


def placeholders(values):
    return ", ".join(["%s"] * len(values))


def datetime_param(value):
    """A datetime as the ORM passes it (SQLite stores naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _converters(model):
    """(number of columns, [(index, converters, column)]) for this thread's connection."""
    known = _CONVERTERS.setdefault(connections[DEFAULT_DB_ALIAS], {})
    if model not in known:
        fields, found = model._meta.concrete_fields, []
        for i, field in enumerate(fields):
            column = field.get_col(model._meta.db_table)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if converters:
                found.append((i, converters, column))
        known[model] = len(fields), found
    return known[model]


def instances(rows, *models):
    """Each row (the models' `columns` one after the other) as one instance per model."""
    layout = [(model, *_converters(model)) for model in models]
    out = []
    for row in rows:
        start, objects = 0, []
        for model, width, converters in layout:
            values = list(row[start:start + width])
            for i, found, column in converters:
                for converter in found:
                    values[i] = converter(values[i], column, connection)
            objects.append(model.from_db(connection.alias, None, values))
            start += width
        out.append(objects)
    return out


def convert(model, field_name, value):
    """One value of a model's field as the ORM would read it."""
    column = model._meta.get_field(field_name).get_col(model._meta.db_table)
    for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
        value = converter(value, column, connection)
    return value


def insert(objects):
    """INSERT new instances of one model in one statement, as bulk_create does (each field's
    pre_save, so auto_now_add is set, and its database value), and set their primary keys."""
    model = type(objects[0])
    fields = [field for field in model._meta.concrete_fields if field is not model._meta.pk]
    values = [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objects for field in fields]
    row = f"({placeholders(fields)})"
    names = ", ".join(f'"{field.column}"' for field in fields)
    keys = fetch(f"INSERT INTO {table(model)} ({names}) VALUES {', '.join([row] * len(objects))}"
                 f' RETURNING "{model._meta.pk.column}"', values)
    for obj, (pk,) in zip(objects, keys):
        obj.pk, obj._state.adding, obj._state.db = pk, False, connection.alias
    return objects


def lock_clause(of, no_key=False, skip_locked=False):
    """SELECT ... FOR [NO KEY] UPDATE OF `of` [SKIP LOCKED] where rows can be locked; on SQLite
    nothing (its transactions take the database write lock at BEGIN IMMEDIATE)."""
    if not connection.features.has_select_for_update:
        return ""
    return f" FOR {'NO KEY ' if no_key else ''}UPDATE OF {of}{' SKIP LOCKED' if skip_locked else ''}"


def _cursor():
    """A cursor as connection.cursor() gives (health check, errors translated, queries logged and
    counted); on PostgreSQL one that binds parameters on the server, so psycopg prepares a statement
    once it ran `prepare_threshold` times on the connection (settings) and PostgreSQL stops parsing
    and planning it anew: these statements have few parameters and run on every request. (Django's
    own cursors bind on the client and never prepare.)"""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))  # as BaseDatabaseWrapper._cursor


def fetch(sql, params):
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql, params):
    """Run an UPDATE or DELETE; returns the number of rows it changed."""
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
