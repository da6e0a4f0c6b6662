"""NETDATA file generator for the spool tests (../shared/specs/netdata.md).

Writes transmissions with every control record (INMR01, INMR02, INMR03,
INMR04, INMR06, INMR07) and every text unit the spec lists, unknown keys,
multi-valued units, segments of any size (so segments and records cross
card boundaries), fixed (padded) and variable records, and the broken
files a reader must refuse (bad lengths, missing INMR01/INMR06, truncated,
data before the header), each with the reason the reader gives.

Character data is EBCDIC 1047, the table of the `builtin` xlate plugin:
Python has no cp1047 codec, so it is cp037 with the six code points where
the two differ exchanged."""

import codecs

CARD = 80

# cp037 -> cp1047: EBCDIC byte -> the Latin-1 character 1047 gives it.
_CP1047_DIFF = {0x5F: 0x5E, 0xB0: 0xAC, 0xBA: 0xDD, 0xAD: 0x5B, 0xBB: 0xA8, 0xBD: 0x5D}
TO_ASCII = bytearray(codecs.decode(bytes(range(256)), "cp037").encode("latin-1"))
for _e, _a in _CP1047_DIFF.items():
    TO_ASCII[_e] = _a
TO_ASCII = bytes(TO_ASCII)
TO_EBCDIC = bytearray(256)
for _e in range(256):
    TO_EBCDIC[TO_ASCII[_e]] = _e
TO_EBCDIC = bytes(TO_EBCDIC)
assert sorted(TO_ASCII) == list(range(256))


def ebcdic(data):
    if isinstance(data, str):
        data = data.encode("latin-1")
    return data.translate(TO_EBCDIC)


def ascii_(data):
    return data.translate(TO_ASCII)


# Text unit keys: every one the spec lists, and a few real files carry.
INMTNODE, INMTUID, INMFNODE, INMFUID = 0x1001, 0x1002, 0x1011, 0x1012
INMFTIME, INMFVERS, INMFACK, INMNUMF = 0x1024, 0x1023, 0x1026, 0x102F
INMUTILN, INMDSORG, INMLRECL, INMRECFM = 0x1028, 0x003C, 0x0042, 0x0049
INMSIZE, INMRECCT, INMTERM, INMDSNAM = 0x102C, 0x102A, 0x0028, 0x0002

FLAG_FIRST, FLAG_LAST, FLAG_CONTROL = 0x80, 0x40, 0x20
RECFM_F, RECFM_V = 0x8000, 0x4002


def control_id(n):
    return ebcdic("INMR0%d" % n)


def unit(key, *values):
    """A text unit: key, count, then (length, value) for each value."""
    out = key.to_bytes(2, "big") + len(values).to_bytes(2, "big")
    for v in values:
        out += len(v).to_bytes(2, "big") + v
    return out


def num(n, width):
    return n.to_bytes(width, "big")


class Writer:
    """Records to segments to cards.  `seg_sizes` (data bytes per segment)
    is cycled, so segments of 1, 7, 253 ... bytes land anywhere in a card."""

    def __init__(self, seg_sizes=(253,)):
        self.seg_sizes = list(seg_sizes)
        self.turn = 0
        self.stream = bytearray()

    def _next_size(self):
        n = self.seg_sizes[self.turn % len(self.seg_sizes)]
        self.turn += 1
        return max(1, min(253, n))

    def record(self, data, control=False):
        pos = 0
        first = True
        while True:
            n = min(self._next_size(), len(data) - pos)
            flags = (FLAG_FIRST if first else 0) | (FLAG_CONTROL if control else 0)
            if pos + n == len(data):
                flags |= FLAG_LAST
            self.stream += bytes([n + 2, flags]) + data[pos:pos + n]
            pos += n
            first = False
            if pos == len(data):
                return

    def control(self, n, units=(), file_number=None, raw=b""):
        data = control_id(n)
        if file_number is not None:
            data += num(file_number, 4)
        data += b"".join(units) + raw
        self.record(data, control=True)

    def cards(self, pad=0x40):
        out = bytes(self.stream)
        if len(out) % CARD:
            out += bytes([pad]) * (CARD - len(out) % CARD)
        return out


def inmr01_units(to, frm, node="VIMAPT", tnode=None, unknown=True):
    units = [
        unit(INMLRECL, num(80, 2)),
        unit(INMFNODE, ebcdic(node)),
        unit(INMFUID, ebcdic(frm)),
        unit(INMTNODE, ebcdic(tnode or node)),
        unit(INMTUID, ebcdic(to)),
        unit(INMFTIME, ebcdic("20261127031500000000")),
        unit(INMFVERS, num(1, 1)),
        unit(INMFACK, ebcdic("ACK00001")),
        unit(INMNUMF, num(1, 4)),
    ]
    if unknown:
        # keys a reader does not know are skipped, with one and two values
        units.insert(3, unit(0x7A7A, b"\x01\x02\x03"))
        units.append(unit(0x8012, b"\x00", b"\x01\x02"))
    return units


def file_units(recfm, lrecl, size, count):
    return [
        unit(INMUTILN, ebcdic("INMCOPY")),
        unit(INMDSORG, num(0x4000, 2)),
        unit(INMLRECL, num(lrecl, 2)),
        unit(INMRECFM, num(recfm, 2)),
        unit(INMSIZE, num(size, 4)),
        unit(INMRECCT, num(count, 4)),
        unit(INMDSNAM, ebcdic("MAIL"), ebcdic("NOTE"), ebcdic("A")),
        unit(INMTERM),
    ]


def records_for(lines, recfm, lrecl):
    """EBCDIC data records for ASCII lines: an empty line is one blank (as
    CMS writes it); fixed records are padded with blanks to lrecl."""
    out = []
    for line in lines:
        rec = ebcdic(line) if line else b"\x40"
        if recfm == RECFM_F:
            assert len(rec) <= lrecl, "a fixed record longer than LRECL"
            rec = rec + b"\x40" * (lrecl - len(rec))
        out.append(rec)
    return out


def mail_file(to, frm, lines, recfm=RECFM_V, lrecl=None, seg_sizes=(253,),
              inmr04=True, unknown=True, pad=0x40):
    """A whole transmission of a mail whose lines (bytes, ASCII, no line
    ends) are `lines`."""
    if lrecl is None:
        lrecl = max([len(x) for x in lines] + [80])
    recs = records_for(lines, recfm, lrecl)
    w = Writer(seg_sizes)
    w.control(1, inmr01_units(to, frm, unknown=unknown))
    size = sum(len(r) for r in recs)
    w.control(2, file_units(recfm, lrecl, size, len(recs)), file_number=1)
    if inmr04:
        w.control(4, raw=ebcdic("SITE SPECIFIC DATA, NOT TEXT UNITS") + b"\xff\x00")
    w.control(3, file_units(recfm, lrecl, size, len(recs))[1:5])
    for r in recs:
        w.record(r)
    w.control(6)
    return w.cards(pad)


def expected_message(lines, recfm=RECFM_V):
    """What the spool delivers for those lines: CRLF after every line, and
    for fixed records no trailing blanks."""
    out = b""
    for line in lines:
        if recfm == RECFM_F:
            line = line.rstrip(b" ")
        out += line + b"\r\n"
    return out


def notification_file(to, frm):
    w = Writer()
    w.control(1, inmr01_units(to, frm))
    w.control(7, [unit(INMFACK, ebcdic("ACK00001"))])
    return w.cards()


def broken_files(to="brokenuser", frm="SMTP"):
    """name -> (bytes, a substring of the reason the spool records)."""
    good = mail_file(to, frm, [b"Subject: x", b"", b"body"])
    w = Writer()
    w.control(1, inmr01_units(to, frm))
    w.record(ebcdic("Subject: no trailer"))
    no_trailer = w.cards()
    w = Writer()
    w.control(2, file_units(RECFM_V, 80, 1, 1), file_number=1)
    w.control(6)
    no_header = w.cards()
    w = Writer()
    w.record(ebcdic("Subject: data first"))
    w.control(1, inmr01_units(to, frm))
    w.control(6)
    data_first = w.cards()
    bad_len = bytearray(good)
    # the second segment's length byte (the first segment is INMR01's)
    bad_len[good[0]] = 1
    w = Writer()
    # INMTUID says 64 bytes of value, 3 follow
    w.control(1, raw=b"\x10\x02\x00\x01\x00\x40abc")
    w.control(6)
    long_value = w.cards()
    return {
        "bad-length": (bytes(bad_len), "bad segment length 1"),
        "no-inmr01": (no_header, "no INMR01"),
        "no-inmr06": (no_trailer, "no INMR06 trailer"),
        "truncated": (good[:100], "truncated"),
        "data-first": (data_first, "data before INMR01"),
        "unit-past-end": (long_value, "runs past the record end"),
        "garbage": (b"\x00\x00\x00 this is not a spool file\n", "bad segment length 0"),
    }
