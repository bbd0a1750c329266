"""The tamper-evident ballot log of a fund decision: a SHA-256 hash chain (pure, no I/O).

- The chain starts at a *genesis* hash over the proposal's decisive settings and the
  eligibility snapshot (rooms, areas, owner keys), so a changed snapshot shows too.
- Each ballot has a *digest* over its content (proposal, sequence number, voter key,
  rooms covered, choice, time cast, receipt) and an *entry hash* linking the digest to
  the previous entry's hash. The head (last entry hash) and the number of ballots are
  published with the result.
- The digest includes the owner's random receipt, so the public log (digests and
  hashes only) reveals no choice, while an owner holding the receipt can recompute
  their own digest and find it; anyone can check that the entries link up to the
  published head.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from backend.rules.tally import DEVELOPER_KEY, EligibleRoom


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def time_text(value: datetime | None) -> str:
    """UTC with microseconds: the form hashed (both databases keep microseconds)."""
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def snapshot_digest(rows: Iterable[EligibleRoom]) -> str:
    lines = [f"{r.room_id}:{r.area:.2f}:{r.owner_key}" for r in sorted(rows, key=lambda r: r.room_id)]
    return _sha256("\n".join(lines))


def genesis_hash(proposal_id: int, rule: str, closes_at: datetime | None, settings: str,
                 snapshot: Iterable[EligibleRoom]) -> str:
    return _sha256(_canonical({
        "proposal": proposal_id, "rule": rule, "closes_at": time_text(closes_at),
        "settings": settings, "snapshot": snapshot_digest(snapshot),
    }))


def ballot_digest(proposal_id: int, seq: int, voter_key: int, room_ids: Sequence[int],
                  choice: str, cast_at: datetime, receipt: str,
                  extra: Mapping | None = None) -> str:
    """``extra``: how the entry was made when it is not a plain online ballot (paper:
    who entered it and the photo's sha256; proxy: the authority and who voted; a
    withdrawal or change). Absent for a plain ballot, so older logs verify as before."""
    content = {
        "proposal": proposal_id, "seq": seq, "voter": voter_key,
        "rooms": sorted(room_ids), "choice": choice, "cast_at": time_text(cast_at),
        "receipt": receipt,
    }
    if extra:
        content["extra"] = dict(extra)
    return _sha256(_canonical(content))


def link_hash(prev_hash: str, proposal_id: int, seq: int, digest: str) -> str:
    return _sha256(f"{prev_hash}:{proposal_id}:{seq}:{digest}")


@dataclass(frozen=True)
class LogEntry:
    ballot_id: int
    seq: int
    voter_key: int
    room_ids: tuple[int, ...]
    choice: str
    cast_at: datetime
    receipt: str
    digest: str
    prev_hash: str
    entry_hash: str
    extra: Mapping | None = None
    # what to call the entry in a report, e.g. "paper ballot entered by 王芳"
    description: str = "ballot"
    # withdraws or changes an earlier entry of the same owner: it covers no rooms itself
    revises: bool = False


@dataclass(frozen=True)
class Problem:
    """What verification found, and where (``seq`` of the entry, or None)."""

    kind: str  # edited, deleted, inserted, broken_link, rooms, snapshot, published
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "log"
        return f"{where}: {self.kind}: {self.message}"


def verify_chain(proposal_id: int, genesis: str, entries: Iterable[LogEntry],
                 rooms_by_key: Mapping[int, Sequence[int]], *,
                 published_head: str | None = None,
                 published_count: int | None = None) -> list[Problem]:
    """Every way the log differs from an untouched one. ``rooms_by_key`` is the
    snapshot's rooms per owner key (a ballot covers exactly its owner's rooms)."""
    problems: list[Problem] = []
    entries = sorted(entries, key=lambda e: e.seq)
    prev_hash = genesis
    expected_seq = 1
    for entry in entries:
        if entry.seq > expected_seq:
            missing = (f"seq {expected_seq}" if entry.seq == expected_seq + 1
                       else f"seq {expected_seq}-{entry.seq - 1}")
            problems.append(Problem("deleted", expected_seq,
                                    f"{missing} missing: ballot(s) deleted after being cast"))
        expected_seq = entry.seq + 1
        digest = ballot_digest(proposal_id, entry.seq, entry.voter_key, entry.room_ids,
                               entry.choice, entry.cast_at, entry.receipt, entry.extra)
        if digest != entry.digest:
            problems.append(Problem("edited", entry.seq,
                                    f"{entry.description} (id {entry.ballot_id}) does not match its "
                                    f"digest: its content (choice, rooms, time, receipt, who "
                                    f"entered it or its photo) was changed"))
        if entry.prev_hash != prev_hash:
            problems.append(Problem("broken_link", entry.seq,
                                    f"ballot id {entry.ballot_id} does not follow the previous "
                                    f"entry: an entry before it was deleted, inserted or edited"))
        if link_hash(entry.prev_hash, proposal_id, entry.seq, entry.digest) != entry.entry_hash:
            problems.append(Problem("edited", entry.seq,
                                    f"ballot id {entry.ballot_id} entry hash does not match: "
                                    f"the log entry was changed"))
        expected_rooms = sorted(rooms_by_key.get(entry.voter_key, ()))
        if entry.voter_key == DEVELOPER_KEY or sorted(entry.room_ids) != expected_rooms:
            problems.append(Problem("rooms", entry.seq,
                                    f"ballot id {entry.ballot_id} covers rooms {sorted(entry.room_ids)}"
                                    f" but its owner holds {expected_rooms} in the snapshot"))
        prev_hash = entry.entry_hash
    if published_count is not None and len(entries) != published_count:
        if len(entries) > published_count:
            extra = [e.seq for e in entries if e.seq > published_count]
            problems.append(Problem("inserted", extra[0] if extra else None,
                                    f"{len(entries)} ballots but {published_count} were published "
                                    f"at close: seq {extra} added after the result"))
        else:
            problems.append(Problem("deleted", None,
                                    f"{len(entries)} ballots but {published_count} were published "
                                    f"at close"))
    if published_head is not None and prev_hash != published_head:
        problems.append(Problem("published", entries[-1].seq if entries else None,
                                f"chain head {prev_hash[:16]}… differs from the published head "
                                f"{published_head[:16]}…"))
    return problems
