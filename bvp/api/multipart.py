"""Multipart request bodies: files and form fields in one schema, parsed together and
documented as one ``multipart/form-data`` request body (webargs reads ``form`` and
``files`` as two locations; OpenAPI 3 has one request body)."""

from __future__ import annotations

from flask_smorest import Blueprint
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

MULTIPART = "multipart"


@Blueprint.ARGUMENTS_PARSER.location_loader(MULTIPART)
def _load_multipart(request, schema) -> MultiDictProxy:
    return MultiDictProxy(CombinedMultiDict([request.files, request.form]), schema)


Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
    **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
    MULTIPART: "multipart/form-data",
}
