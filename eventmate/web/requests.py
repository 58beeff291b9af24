"""The request class: form fields a browser can send but nothing can read are dropped, and
the few routes that take a file may take a larger body than the rest.

A multipart field named `\\` (browsers send a backslash in a field name unescaped) comes out
of Werkzeug's parser with the name None; Flask-WTF's CSRF check then calls `None.endswith`
and the request is a 500. No field of ours has such a name, so it is simply not there.
"""

from __future__ import annotations

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

#: Endpoints that take an uploaded file, and the largest body each may send. Decided before
#: the body is read (CSRF protection reads the form before the view runs).
UPLOADS = {"organiser.import_people": 6 * 1024 * 1024, "organiser.import_confirm": 6 * 1024 * 1024}


class FormRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        if self.url_rule is not None and self.url_rule.endpoint in UPLOADS:
            return UPLOADS[self.url_rule.endpoint]
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        Request.max_content_length.fset(self, value)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        for name in ("form", "files"):
            fields = self.__dict__.get(name)
            if fields is not None and None in fields:
                self.__dict__[name] = ImmutableMultiDict(
                    [(key, value) for key, value in fields.items(multi=True) if key is not None])
