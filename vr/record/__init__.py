"""Session records: the private, append-only log of a session and the tools that read it.

Offers ``SessionWriter`` (the writer thread), ``read_record`` / ``SessionRecord``, and the
privacy helpers (``check_pseudonym``, ``new_pseudonym``).
"""

from vr.record.privacy import check_pseudonym, new_pseudonym
from vr.record.reader import RecordError, SessionRecord, read_record
from vr.record.writer import DURABLE_AFTER_S, SessionWriter, encode_event

__all__ = ["DURABLE_AFTER_S", "RecordError", "SessionRecord", "SessionWriter", "check_pseudonym", "encode_event",
           "new_pseudonym", "read_record"]
