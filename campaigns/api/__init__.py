"""The JSON API at /api/v1/ (contract in SPEC.md; schema in ``schema.py``)."""
