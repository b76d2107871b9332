"""Read one uploaded file from a ``multipart/form-data`` body: in memory, with bounded parsing.

Starlette's form parser spools files over 1 MB to a temporary file; uploads here never
touch the disk. The body streams through python-multipart's parser and every bound is
enforced as the bytes arrive: at most ``max_parts`` parts (a 2000-part body is refused at
part ``max_parts + 1``), the file up to ``max_bytes``, each other field up to 1 kB. The
request body as a whole is already bounded by ``BodyLimitMiddleware`` (413).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.images.intake import human_size

#: Largest text field beside the file (e.g. an ``image_id``).
MAX_FIELD_BYTES = 1024


@dataclass
class Upload:
    """The file sent in the expected field, plus any small text fields beside it."""

    data: bytes
    filename: str
    content_type: str
    fields: dict[str, str] = field(default_factory=dict)


class _Reader:
    """python-multipart callbacks that keep the one file field and count everything."""

    def __init__(self, field_name: str, max_bytes: int, max_parts: int) -> None:
        self.field_name = field_name
        self.max_bytes = max_bytes
        self.max_parts = max_parts
        self.parts = 0
        self.file: bytearray | None = None
        self.filename = ""
        self.content_type = ""
        self.fields: dict[str, str] = {}
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._target: bytearray | None = None
        self._name = ""
        self._is_file = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.max_parts:
            raise HTTPException(
                400,
                f"The upload has more than {self.max_parts} parts: send one image in the "
                f"field {self.field_name!r}",
            )
        self._headers = {}
        self._target = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = b"filename" in options
        if self._name == self.field_name and self._is_file:
            if self.file is not None:
                raise HTTPException(
                    400, f"Send one image at a time: the field {self.field_name!r} came twice"
                )
            self.file = bytearray()
            self.filename = options[b"filename"].decode("utf-8", "replace")
            content_type = self._headers.get(b"content-type", b"")
            self.content_type = content_type.decode("latin-1")
            self._target = self.file
        elif not self._is_file:
            self._target = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._target is None:  # another file: skipped
            return
        self._target += data[start:end]
        limit = self.max_bytes if self._target is self.file else MAX_FIELD_BYTES
        if len(self._target) > limit:
            if self._target is self.file:
                raise HTTPException(
                    413, f"The image file is too large: the limit is {human_size(self.max_bytes)}"
                )
            raise HTTPException(
                400, f"The form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes"
            )

    def on_part_end(self) -> None:
        if self._target is not None and self._target is not self.file and self._name:
            self.fields[self._name] = self._target.decode("utf-8", "replace")
        self._target = None


async def _read(request: Request, field_name: str, max_bytes: int, max_parts: int) -> _Reader:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise HTTPException(
            415,
            f"Send the image as multipart/form-data, with the file in the field {field_name!r}",
        )
    reader = _Reader(field_name, max_bytes, max_parts)
    try:
        parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as error:
        raise HTTPException(400, f"The upload is not valid multipart/form-data ({error})") from None
    return reader


async def read_upload(
    request: Request, *, field_name: str, max_bytes: int, max_parts: int, required: bool = True
) -> Upload | None:
    """The file in ``field_name`` of a multipart body (``None`` if absent and not required).

    Raises ``HTTPException``: 415 when the body is not multipart/form-data, 400 for a
    malformed body or too many parts, 413 for a file over ``max_bytes``, 422 when the
    file is required and missing.
    """
    reader = await _read(request, field_name, max_bytes, max_parts)
    if reader.file is None:
        if required:
            raise HTTPException(422, f"No file was sent in the field {field_name!r}")
        return None
    return Upload(bytes(reader.file), reader.filename, reader.content_type, reader.fields)


async def read_form(
    request: Request, *, field_name: str, max_bytes: int, max_parts: int
) -> tuple[Upload | None, dict[str, str]]:
    """The file in ``field_name`` (or ``None``) and the small text fields of a multipart body,
    with the same bounds and errors as :func:`read_upload`."""
    reader = await _read(request, field_name, max_bytes, max_parts)
    if reader.file is None:
        return None, reader.fields
    return Upload(
        bytes(reader.file), reader.filename, reader.content_type, reader.fields
    ), reader.fields


def image_body(*, required: bool = False) -> dict[str, Any]:
    """OpenAPI for a multipart body with an image file in ``image`` (``required``: nothing
    else; otherwise the ``image_id`` of an uploaded or sample image may stand for it)."""
    properties: dict[str, Any] = {
        "image": {
            "type": "string",
            "format": "binary",
            "description": "An image file (PNG, JPEG, WebP, GIF, BMP)",
        }
    }
    if not required:
        properties["image_id"] = {
            "type": "string",
            "description": "Or: the id of an uploaded image, or a sample id",
        }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = ["image"]
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


#: OpenAPI for a body with an image: a file in ``image``, or the ``image_id`` of one.
IMAGE_BODY = image_body()
