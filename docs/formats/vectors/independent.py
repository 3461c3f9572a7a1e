#!/usr/bin/env python3
"""Known answers for docs/formats, computed from the specs alone.

Written from docs/formats/*.md without reading Veilgate's source, so the
Rust tests that read these vectors check the code against the documents.
Run `python3 independent.py` to print the vectors; `--check` compares them
with the committed files and exits 1 on any difference (CI runs the Rust
tests, which read the files; this script is how the files were made).
"""
import hashlib
import json
import sys


def u16(n):
    return n.to_bytes(2, "big")


def u64(n):
    return n.to_bytes(8, "big")


def s(text):
    b = text.encode()
    return u16(len(b)) + b


def opt(value, enc):
    return b"\x00" if value is None else b"\x01" + enc(value)


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


ACTIONS = {"start": 1, "submit": 2, "open": 3, "verify": 4,
           "permissions_reloaded": 5, "anchor": 6, "requeue": 7, "set_publish": 8,
           "refused": 9}


def audit_log():
    events = [
        dict(time_ms=1764547200000, actor="gateway", action="start", ledger=None,
             envelope_id=None, detail="policies interbank-settlement:interbank-payment@1=00"),
        dict(time_ms=1764547200123, actor="bank-a", action="submit", ledger="interbank-settlement",
             envelope_id="0f" * 16, detail="policy interbank-payment"),
        dict(time_ms=1764547200456, actor="regulator", action="open", ledger="interbank-settlement",
             envelope_id="0f" * 16, detail="5 fields"),
        dict(time_ms=1764547200789, actor="bank-b", action="refused", ledger=None,
             envelope_id=None, detail="reason=revoked route=GET /v1/ledgers/{ledger}/policies"),
        dict(time_ms=1764547201000, actor="gateway", action="anchor", ledger="interbank-settlement",
             envelope_id=None, detail=None),
    ]
    prev = bytes(32)
    out = []
    for seq, e in enumerate(events):
        body = (b"\x01" + u64(seq) + u64(e["time_ms"]) + s(e["actor"]) + bytes([ACTIONS[e["action"]]])
                + opt(e["ledger"], s)
                + opt(e["envelope_id"], bytes.fromhex)
                + opt(e["detail"], s)
                + prev)
        h = sha256(b"veilgate/audit-entry/v1", body)
        out.append(dict(e, seq=seq, prev=prev.hex(), hash=h.hex(), stored=(body + h).hex()))
        prev = h
    head = out[-1]
    anchor = b"VGAA" + u64(head["seq"]) + bytes.fromhex(head["hash"])
    anchor_id = sha256(b"veilgate/audit-anchor-id/v1", u64(head["seq"]))[:16]
    return dict(entries=out, anchor=dict(seq=head["seq"], bytes=anchor.hex(), id=anchor_id.hex()))


def outbox():
    cases = []
    for env_id, ledger, envelope in [("ab" * 16, "interbank-settlement", "020001"),
                                     ("00" * 16, "l", ""),
                                     ("11" * 16, "账本", "56474141")]:
        v = bytes.fromhex(env_id) + s(ledger) + bytes.fromhex(envelope)
        cases.append(dict(envelope_id=env_id, ledger=ledger, envelope=envelope, value=v.hex()))
    return dict(values=cases)


def ledger_entries():
    prev = bytes(32)
    out = []
    for seq, (env_id, content) in enumerate([("01" * 16, b"first envelope"),
                                             ("02" * 16, b""),
                                             ("03" * 16, b"VGAA" + u64(9) + bytes(range(32)))]):
        h = sha256(b"veilgate/ledger-entry/v1", u64(seq), prev, bytes.fromhex(env_id), sha256(content))
        out.append(dict(sequence=seq, id=env_id, bytes=content.hex(), prev_hash=prev.hex(), entry_hash=h.hex()))
        prev = h
    return dict(entries=out)


FILES = {"audit-v1.json": audit_log, "outbox-v1.json": outbox, "ledger-entry-v1.json": ledger_entries}


def main():
    check = "--check" in sys.argv
    bad = 0
    for name, make in FILES.items():
        text = json.dumps(make(), indent=2, ensure_ascii=False) + "\n"
        if check:
            with open(name, encoding="utf-8") as f:
                if f.read() != text:
                    print(f"{name}: differs from the spec", file=sys.stderr)
                    bad += 1
        else:
            with open(name, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {name}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
