"""The JSON API at /api/v1/ (contract in SPEC.md): ``app`` (the ninja API and its error answers),
``auth`` (bearer tokens), ``fields`` and ``schemas`` (what it reads and answers), ``views`` (the endpoints),
``schema`` (the OpenAPI document), ``urls`` (routes and the JSON 404), ``middleware`` (JSON for every error)."""
