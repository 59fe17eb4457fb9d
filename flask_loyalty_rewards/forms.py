"""The base of every form on our pages, admin and client."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_wtf import FlaskForm


class Form(FlaskForm):  # type: ignore[misc]
    """A Flask-WTF form that reads what a browser posts, never a JSON body.

    Flask-WTF takes a JSON body as the form's data, and fails with a server error when the body
    is not a JSON object (``true``, ``[1]``). A page's form posted as JSON is an empty form here,
    refused by its validation like any other.
    """

    class Meta(FlaskForm.Meta):  # type: ignore[misc]
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            left_to_flask_wtf = formdata is not None and not hasattr(formdata, "getlist")
            if (
                left_to_flask_wtf
                and has_request_context()
                and request.is_json
                and not (request.form or request.files)
            ):
                formdata = request.form if form.is_submitted() else None
            return super().wrap_formdata(form, formdata)
