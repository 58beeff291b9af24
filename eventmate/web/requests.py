"""The request class: form fields a browser can send but nothing can read are dropped.

A multipart field named `\\` (browsers send a backslash in a field name unescaped) comes out
of Werkzeug's parser with the name None; Flask-WTF's CSRF check then calls `None.endswith`
and the request is a 500. No field of ours has such a name, so it is simply not there.
"""

from __future__ import annotations

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict


class FormRequest(Request):
    def _load_form_data(self) -> None:
        super()._load_form_data()
        for name in ("form", "files"):
            fields = self.__dict__.get(name)
            if fields is not None and None in fields:
                self.__dict__[name] = ImmutableMultiDict(
                    [(key, value) for key, value in fields.items(multi=True) if key is not None])
