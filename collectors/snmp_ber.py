"""A small BER codec for SNMP v1/v2c messages: GETBULK/GETNEXT requests out, Response PDUs in.

Only the hot path of a v2c walk uses it (see snmp_walk.py): pysnmp spends ~100 µs of CPU per
varbind decoding through pyasn1's generic machinery; this reads the few types SNMP puts on
the wire directly. Everything else (v3 security, GETs, traps) stays with pysnmp.

Values come out as the collector's parsers expect them from pysnmp (see snmp._value):
INTEGER and the application integers (Counter32/64, Gauge32, TimeTicks, UInteger32) → int;
OCTET STRING, IpAddress, Opaque, NULL → str (UTF-8, errors replaced, trailing NULs
stripped); OBJECT IDENTIFIER → dotted str; noSuchObject / noSuchInstance / endOfMibView
→ the markers below. Garbage raises BerError (a ValueError) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


class BerError(ValueError):
    """The bytes are not a well-formed SNMP message."""


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_SUCH_OBJECT = _Marker("noSuchObject")
NO_SUCH_INSTANCE = _Marker("noSuchInstance")
END_OF_MIB_VIEW = _Marker("endOfMibView")
_EXCEPTIONS = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}

_INTEGER, _OCTETS, _NULL, _OID, _SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
_UNSIGNED = frozenset((0x41, 0x42, 0x43, 0x46, 0x47))  # Counter32 Gauge32 TimeTicks Counter64 UInt32
_STRINGS = frozenset((_OCTETS, 0x40, 0x44))  # OCTET STRING, IpAddress, Opaque
GET_NEXT, RESPONSE, GET_BULK = 0xA1, 0xA2, 0xA5

ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
                "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
                "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
                "authorizationError", "notWritable", "inconsistentName")


# -- encoding --------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _int(n: int) -> bytes:
    return _tlv(_INTEGER, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def encode_oid(dotted: str | tuple[int, ...]) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (no tag, no length)."""
    try:
        arcs = tuple(int(a) for a in dotted.strip(".").split(".")) if isinstance(dotted, str) \
            else tuple(dotted)
    except ValueError:
        raise BerError(f"not a numeric OID: {dotted!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39) or min(arcs) < 0:
        raise BerError(f"not a valid OID: {dotted!r}")
    out = bytearray()
    for arc in (arcs[0] * 40 + arcs[1], *arcs[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def encode_request(version: int, community: bytes, pdu_type: int, request_id: int,
                   oid: bytes, max_repetitions: int = 0) -> bytes:
    """A GETNEXT or GETBULK request for one OID (content octets from encode_oid).

    version: 0 for v1, 1 for v2c. For GETBULK, non-repeaters is 0."""
    varbinds = _tlv(_SEQUENCE, _tlv(_SEQUENCE, _tlv(_OID, oid) + b"\x05\x00"))
    if pdu_type == GET_BULK:
        pdu = _int(request_id) + _int(0) + _int(max_repetitions) + varbinds
    else:
        pdu = _int(request_id) + _int(0) + _int(0) + varbinds
    return _tlv(_SEQUENCE, _int(version) + _tlv(_OCTETS, community) + _tlv(pdu_type, pdu))


class RequestTemplate:
    """encode_request for one walk: version, community, PDU type and max-repetitions are
    encoded once; each request only adds its request id and OID (same bytes as
    encode_request — checked in the tests)."""

    __slots__ = ("_head", "_pdu_tag", "_tail")

    def __init__(self, version: int, community: bytes, pdu_type: int, max_repetitions: int = 0) -> None:
        self._head = _int(version) + _tlv(_OCTETS, community)
        self._pdu_tag = bytes((pdu_type,))
        self._tail = _int(0) + _int(max_repetitions if pdu_type == GET_BULK else 0)

    def encode(self, request_id: int, oid: bytes) -> bytes:
        oid_tlv = b"\x06" + _length(len(oid)) + oid + b"\x05\x00"
        vb = b"\x30" + _length(len(oid_tlv)) + oid_tlv
        pdu = _int(request_id) + self._tail + b"\x30" + _length(len(vb)) + vb
        msg = self._head + self._pdu_tag + _length(len(pdu)) + pdu
        return b"\x30" + _length(len(msg)) + msg


# -- decoding --------------------------------------------------------------------------


def oid_arcs(content: bytes) -> tuple[int, ...]:
    """The arcs of OBJECT IDENTIFIER content octets."""
    if not content:
        raise BerError("empty OID")
    arcs = _arcs(content)
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def sub_arcs(content: bytes, start: int) -> tuple[int, ...]:
    """The arcs encoded in content[start:] (an OID's tail below a known prefix)."""
    tail = content[start:]
    if tail.isascii():  # every arc < 128, one byte each: the common case, done in C
        return tuple(tail)
    return tuple(_arcs(tail)) if tail else ()


def _arcs(data: bytes) -> list[int]:
    """Base-128 arcs, high bit = more bytes follow (data is not empty)."""
    arcs: list[int] = []
    n = 0
    for b in data:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(n)
            n = 0
    if data[-1] & 0x80:
        raise BerError("OID ends inside an arc")
    return arcs


def oid_str(content: bytes) -> str:
    return ".".join(map(str, oid_arcs(content)))


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at pos; checks it fits before end."""
    if pos + 2 > end:
        raise BerError(f"truncated at byte {pos}")
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > end:
            raise BerError(f"bad length at byte {pos - 1}")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    if pos + n > end:
        raise BerError(f"length {n} at byte {pos} runs past the end")
    return tag, pos, pos + n


def _integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, s, e = _header(data, pos, end)
    if tag != _INTEGER or s == e:
        raise BerError(f"expected INTEGER at byte {pos}")
    return int.from_bytes(data[s:e], "big", signed=True), e


def value_of(tag: int, raw: bytes) -> object:
    """A varbind value as plain Python (see the module docstring)."""
    if tag in _UNSIGNED:
        # unsigned on the wire; lenient about the missing leading zero some agents send
        return int.from_bytes(raw, "big")
    if tag in _STRINGS or tag == _NULL:
        return raw.decode("utf-8", "replace").rstrip("\x00")
    if tag == _INTEGER:
        if not raw:
            raise BerError("empty INTEGER")
        return int.from_bytes(raw, "big", signed=True)
    if tag == _OID:
        return oid_str(raw)
    marker = _EXCEPTIONS.get(tag)
    if marker is not None:
        return marker
    raise BerError(f"unknown value type 0x{tag:02x}")


@dataclass(frozen=True, slots=True)
class Response:
    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[bytes, int, bytes]]  # (OID content octets, value tag, value octets)


def decode_response(data: bytes) -> Response:
    """A v1/v2c Response PDU. Values stay raw (tag, octets): the walk converts only the
    rows it keeps (value_of)."""
    end = len(data)
    tag, pos, msg_end = _header(data, 0, end)
    if tag != _SEQUENCE:
        raise BerError("not an SNMP message (no SEQUENCE)")
    version, pos = _integer(data, pos, msg_end)
    tag, s, pos = _header(data, pos, msg_end)
    if tag != _OCTETS:
        raise BerError("no community string")
    community = data[s:pos]
    tag, pos, pdu_end = _header(data, pos, msg_end)
    if tag != RESPONSE:
        raise BerError(f"not a Response PDU (0x{tag:02x})")
    request_id, pos = _integer(data, pos, pdu_end)
    error_status, pos = _integer(data, pos, pdu_end)
    error_index, pos = _integer(data, pos, pdu_end)
    tag, pos, vbl_end = _header(data, pos, pdu_end)
    if tag != _SEQUENCE:
        raise BerError("no varbind list")
    varbinds = []
    append = varbinds.append
    while pos < vbl_end:
        # fast path, the hot loop: a varbind whose three TLVs all have short-form lengths
        # (< 128 octets), read without calls; anything else goes the checked way below
        if pos + 4 <= vbl_end and data[pos] == _SEQUENCE and data[pos + 2] == _OID:
            n1 = data[pos + 1]
            n2 = data[pos + 3]
            if n1 < 0x80 and n2 < 0x80:
                vb_end = pos + 2 + n1
                oid_end = pos + 4 + n2
                if oid_end + 2 <= vb_end <= vbl_end:
                    n3 = data[oid_end + 1]
                    if n3 < 0x80 and oid_end + 2 + n3 == vb_end:
                        append((data[pos + 4:oid_end], data[oid_end], data[oid_end + 2:vb_end]))
                        pos = vb_end
                        continue
        if data[pos] != _SEQUENCE:
            raise BerError(f"expected a varbind at byte {pos}")
        _t, pos, vb_end = _header(data, pos, vbl_end)
        if pos >= vb_end or data[pos] != _OID:
            raise BerError(f"expected an OID at byte {pos}")
        _t, s, pos = _header(data, pos, vb_end)
        oid = data[s:pos]
        tag, s, pos = _header(data, pos, vb_end)
        if pos != vb_end:
            raise BerError(f"varbind ends at byte {vb_end}, value at {pos}")
        append((oid, tag, data[s:pos]))
    return Response(version, community, request_id, error_status, error_index, varbinds)
