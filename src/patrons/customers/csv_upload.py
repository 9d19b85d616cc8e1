"""Receives a multipart CSV upload as a stream, without holding the file in memory.

The `file` part is spooled to a temporary file (in memory up to a few MB, on disk beyond)
while being checked on the fly: UTF-8 throughout, no NUL bytes, a usable header row. The job
is enqueued from the spool afterwards, one payload piece at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

from patrons.core import limits
from patrons.core.errors import InvalidPayload
from patrons.customers import importer

NO_FILE = "Payload should have required property 'file'"
HEADER_TOO_LONG = f"CSV header row must NOT be longer than {limits.CSV_HEADER_MAX_BYTES} bytes"
limits.lift_csv_field_limit()  # the header row is read whole, however long (bounded above)


def _record_end(data: bytes) -> int | None:
    """The offset just after the first CSV record's line end (a newline outside quotes)."""
    quotes = 0
    start = 0
    while (newline := data.find(b"\n", start)) != -1:
        quotes += data.count(b'"', start, newline)
        if quotes % 2 == 0:
            return newline + 1
        start = newline + 1
    return None


class CsvUpload:
    def __init__(self) -> None:
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=4 << 20)  # noqa: SIM115
        self.size = 0
        self.found = False
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._peek = b""
        self._header_checked = False
        self._error: str | None = None
        # The file's first bytes, held until we know whether they start with a UTF-8 BOM.
        self._start: bytes | None = b""

    # python-multipart callbacks -------------------------------------------------------------
    def _on_part_begin(self) -> None:
        self._disposition = b""

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._in_file = options.get(b"name") == b"file" and not self.found
        if self._in_file:
            self.found = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self._error is None:
            self._strip_bom(data[start:end])

    def _strip_bom(self, piece: bytes, *, final: bool = False) -> None:
        """A leading BOM is dropped before anything parses the file: before a quoted first
        header (`\ufeff"Source_id"`) it would otherwise become part of the field."""
        if self._start is None:
            self._take(piece)
            return
        self._start += piece
        if len(self._start) < len(codecs.BOM_UTF8) and not final:
            return
        head, self._start = self._start, None
        self._take(head.removeprefix(codecs.BOM_UTF8))

    def _on_part_end(self) -> None:
        self._in_file = False

    # checks -------------------------------------------------------------------------------
    def _take(self, piece: bytes) -> None:
        if b"\x00" in piece:
            self._error = "File is not a CSV: it contains NUL bytes"
            return
        try:
            self._decoder.decode(piece)
        except UnicodeDecodeError:
            self._error = "File is not a UTF-8 encoded CSV"
            return
        if not self._header_checked:
            # The header row is checked whole (a duplicate column at its very end is a 400
            # now, not a failed job later), so it is held until its line ends.
            self._peek += piece
            end = _record_end(self._peek)
            if end is not None:
                self._peek = self._peek[:end]
                self._check_header()
            elif len(self._peek) > limits.CSV_HEADER_MAX_BYTES:
                raise InvalidPayload(HEADER_TOO_LONG)
        self.spool.write(piece)
        self.size += len(piece)

    def _check_header(self) -> None:
        self._header_checked = True
        if len(self._peek) > limits.CSV_HEADER_MAX_BYTES:
            raise InvalidPayload(HEADER_TOO_LONG)
        text = self._peek.decode("utf-8", errors="ignore")
        try:
            header = next(csv.reader(io.StringIO(text)), [])
        except csv.Error as exc:
            raise InvalidPayload(f"CSV header cannot be read: {exc}") from None
        importer.map_header(header)

    async def receive(self, content_type: str, stream: AsyncIterator[bytes]) -> None:
        media, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if media != b"multipart/form-data" or not boundary:
            raise InvalidPayload(NO_FILE)
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )
        try:
            async for chunk in stream:
                if chunk:
                    parser.write(chunk)
        except InvalidPayload:
            raise
        except Exception as exc:
            if type(exc).__name__ == "RequestEntityTooLarge":
                raise
            raise InvalidPayload(f"Malformed multipart body: {exc}") from None
        if not self.found:
            raise InvalidPayload(NO_FILE)
        if self._start is not None:
            self._strip_bom(b"", final=True)
        if self._error:
            raise InvalidPayload(self._error)
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InvalidPayload("File is not a UTF-8 encoded CSV") from None
        if not self._header_checked:
            self._check_header()
        if self.size == 0 or not self._peek.strip():
            raise InvalidPayload("CSV file is empty")
        self.spool.seek(0)

    def close(self) -> None:
        self.spool.close()
