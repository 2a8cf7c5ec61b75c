"""Model instances from hand-written SQL, for the few queries on the busiest public paths.

``Model.objects.raw()`` works out, on every query, which column is which field,
and which converters each needs (``resolve_model_init_order``, the cursor's
description): on the signing path that took longer than the database took to
answer. Here the columns are named in the model's field order, so that work is
done once per model and process; extra columns (an ``EXISTS``, the matched
prefix) follow them and are set as attributes, as ``raw()`` would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)
_Converter = Callable[[Any, Any, Any], Any]


@cache
def _loading(model: type[models.Model], vendor: str) -> tuple[list[str], list[tuple[int, list[_Converter], Any]]]:
    """The fields' attribute names in column order, and the converters of those that need one."""
    fields = model._meta.concrete_fields
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((position, found, column))
    return [field.attname for field in fields], converters


@cache
def columns(model: type[models.Model], alias: str) -> str:
    """``alias.column, …`` for every concrete field of ``model``, in the order ``instances`` reads them."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def instances(model: type[M], sql: str, params: Sequence[Any] = (), *, extra: Sequence[str] = ()) -> list[M]:
    """One ``model`` per row of ``sql``, which selects ``columns(model, …)`` then the ``extra`` columns."""
    names, converters = _loading(model, connection.vendor)
    width = len(names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        values = list(row[:width])
        for position, functions, column in converters:
            for function in functions:
                values[position] = function(values[position], column, connection)
        instance = model.from_db(connection.alias, names, values)
        for name, value in zip(extra, row[width:], strict=True):
            setattr(instance, name, value)
        found.append(instance)
    return found
