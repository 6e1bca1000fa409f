"""The review collector: reads what Rasa stored of each conversation and fills the review queue and
the analytics counts, a few seconds behind the conversation and never in its way.

Rasa writes every conversation to its SQL tracker store (endpoints.yml; TRACKER_STORE_URL for
deployments). This process reads the new event rows from there, as the notifier reads its outbox:

- every patient message is counted by day, what the assistant did with it (answered, asked back,
  deflected; clinic/handoff/turns.py), the topic answered and any red flag;
- every question the assistant deflected, asked back about, or answered with low confidence, and
  every answer the patient marked unhelpful in the widget, becomes a review item: its text with
  phone numbers, e-mail addresses and names taken out first (clinic/handoff/scrub.py), the topic
  guessed and how sure, and its group of questions that mean the same (review_groups.py);
- a name the patient gives the handoff form later in the conversation is taken out of that
  conversation's earlier items too.

Messages typed while the handoff form is open (names, phone numbers, reasons) are counted, never
read. The patient's reply never waits for this process: if it stops, the queue fills up when it
starts again, from where it left off (its cursor is in the clinic's database, moved in the same
transaction as what it wrote). Nothing it logs holds patient text: counts and ids only.

Run: python -m clinic.handoff.collector  (--once to catch up and exit)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Dict, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from scipy import sparse

from clinic.handoff import turns as T
from clinic.handoff.retention import tracker_store_url
from clinic.handoff.review_groups import Grouper, Vectoriser, to_json, training_examples
from clinic.handoff.review_store import (
    Batch,
    CursorMoved,
    GroupChange,
    NewFeedback,
    NewItem,
    ReviewGroupRow,
    ReviewItemRow,
    ReviewStore,
)
from clinic.handoff.scrub import Scrubber, get_scrubber
from clinic.handoff.store import StoreUnavailable, get_store
from clinic.settings import get_settings

logger = logging.getLogger("clinic.handoff.collector")
BATCH = 2000
# PostgreSQL hands out ids before commit, so a later id can be visible before an earlier one: a gap
# in the ids is waited for this long (or until the events after it are this old) before it is
# taken as a rolled-back write. SQLite commits in id order and never needs it.
GAP_WAIT_SECONDS = 30.0
GAP_AGE_SECONDS = 120.0


@dataclass
class PassResult:
    events: int = 0
    messages: int = 0
    items: int = 0
    feedback: int = 0
    caught_up: bool = True


def _conversation_key(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(float(timestamp or 0.0), tz=timezone.utc).replace(tzinfo=None)


@dataclass
class Collector:
    review: ReviewStore
    tracker_url: str
    scrubber: Optional[Scrubber] = None
    batch_size: int = BATCH
    low_confidence_below: float = field(default_factory=lambda: get_settings().review.low_confidence_below)
    timezone: str = field(default_factory=lambda: get_settings().nurse_line.timezone)

    def __post_init__(self) -> None:
        # hide_parameters: an error about a statement must not quote a patient's message.
        self.engine = sa.create_engine(self.tracker_url, hide_parameters=True, future=True)
        safe_url = sa.engine.make_url(self.tracker_url).render_as_string(hide_password=True)
        self.cursor_name = hashlib.sha256(safe_url.encode("utf-8")).hexdigest()[:32]
        self.zone = ZoneInfo(self.timezone)
        self.vectoriser = Vectoriser(training_examples())
        self.grouper: Optional[Grouper] = None
        self._gap_seen: Dict[int, float] = {}
        self._sqlite = self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- reading the tracker store ----

    def _has_events_table(self) -> bool:
        return sa.inspect(self.engine).has_table("events")

    def _new_ids(self, cursor: int) -> List[Tuple[int, str, float]]:
        with self.engine.connect() as connection:
            return [
                (row[0], row[1], row[2] or 0.0)
                for row in connection.execute(
                    sa.text("SELECT id, sender_id, timestamp FROM events WHERE id > :c ORDER BY id LIMIT :n"),
                    {"c": cursor, "n": self.batch_size},
                )
            ]

    def _settled(self, cursor: int, rows: List[Tuple[int, str, float]]) -> List[Tuple[int, str, float]]:
        """The rows up to the first gap in the ids that may still fill (PostgreSQL only)."""
        if self._sqlite:
            return rows
        now_mono, now = time.monotonic(), time.time()
        previous = cursor
        for index, (event_id, _sender, timestamp) in enumerate(rows):
            if previous and event_id != previous + 1:
                first_seen = self._gap_seen.setdefault(previous + 1, now_mono)
                if now_mono - first_seen < GAP_WAIT_SECONDS and now - timestamp < GAP_AGE_SECONDS:
                    return rows[:index]
            previous = event_id
        self._gap_seen = {gap: seen for gap, seen in self._gap_seen.items() if gap > previous}
        return rows

    def _history(self, senders: Sequence[str]) -> Dict[str, List[T.StoredEvent]]:
        history: Dict[str, List[T.StoredEvent]] = {sender: [] for sender in senders}
        query = sa.text(
            "SELECT id, sender_id, type_name, timestamp, data FROM events WHERE sender_id IN :senders ORDER BY id"
        ).bindparams(sa.bindparam("senders", expanding=True))
        with self.engine.connect() as connection:
            for start in range(0, len(senders), 500):
                for row in connection.execute(query, {"senders": list(senders[start : start + 500])}):
                    try:
                        data = json.loads(row[4] or "{}")
                    except ValueError:
                        data = {}
                    history[row[1]].append(T.StoredEvent(row[0], row[2], float(row[3] or 0.0), data))
        return history

    # ---- one pass ----

    def _day(self, timestamp: float) -> date:
        return datetime.fromtimestamp(float(timestamp or 0.0), tz=self.zone).date()

    def _grouper(self) -> Grouper:
        if self.grouper is None:
            self._refresh_old_groups()
            self.grouper = Grouper(self.vectoriser)
            self.grouper.load(self.review.groups_for(self.vectoriser.fingerprint))
        return self.grouper

    def _refresh_old_groups(self) -> None:
        """Groups made before the training data changed get centroids in today's terms, from their
        stored (already scrubbed) questions, so that new questions still join them."""
        with self.review.store.session() as session:
            stale = (
                session.execute(
                    sa.select(ReviewGroupRow.id).where(ReviewGroupRow.vectoriser != self.vectoriser.fingerprint)
                )
                .scalars()
                .all()
            )
            for group_id in stale:
                texts = (
                    session.execute(
                        sa.select(ReviewItemRow.text)
                        .where(ReviewItemRow.group_id == group_id)
                        .order_by(ReviewItemRow.id.desc())
                        .limit(200)
                    )
                    .scalars()
                    .all()
                )
                if not texts:
                    continue
                total = sparse.csr_matrix(self.vectoriser.transform(list(texts)).sum(axis=0))
                session.execute(
                    sa.update(ReviewGroupRow)
                    .where(ReviewGroupRow.id == group_id)
                    .values(centroid=to_json(total), vectoriser=self.vectoriser.fingerprint)
                )
        if stale:
            logger.info("regrouped centroids of %d groups for the current training data", len(stale))

    def run_once(self) -> PassResult:
        result = PassResult()
        if not self._has_events_table():
            return result
        cursor = self.review.cursor(self.cursor_name)
        fetched = self._new_ids(cursor)
        rows = self._settled(cursor, fetched)
        result.caught_up = len(fetched) < self.batch_size and len(rows) == len(fetched)
        if not rows:
            return result
        new_cursor = rows[-1][0]
        senders = sorted({sender for _id, sender, _ts in rows})
        history = self._history(senders)
        counts: Counter = Counter()
        candidates: List[Tuple[str, T.Turn, str, Optional[str], set]] = []  # (key, turn, kind, answer topic, names)
        feedback: List[NewFeedback] = []
        renames: Dict[str, set] = {}

        def in_batch(event_id: Optional[int]) -> bool:
            return event_id is not None and cursor < event_id <= new_cursor

        for sender in senders:
            key = _conversation_key(sender)
            conversation = T.read_conversation(history[sender], self.low_confidence_below)
            if in_batch(conversation.first_message_id):
                first = next(t for t in conversation.turns if t.event_id == conversation.first_message_id)
                counts[(self._day(first.at), "conversations", "")] += 1
            for turn in conversation.turns:
                if not in_batch(turn.event_id):
                    continue
                day = self._day(turn.at)
                result.messages += 1
                counts[(day, "messages", "")] += 1
                if turn.outcome in T.QUESTION_OUTCOMES:
                    counts[(day, "outcome", turn.outcome)] += 1
                if turn.topic:
                    counts[(day, "topic", turn.topic)] += 1
                if turn.red_flag:
                    counts[(day, "red_flag", turn.red_flag)] += 1
                if turn.review:
                    candidates.append((key, turn, turn.review, None, conversation.names))
            for answer in conversation.feedback:
                if not in_batch(answer.event_id):
                    continue
                counts[
                    (self._day(answer.at), "feedback_yes" if answer.helpful else "feedback_no", answer.topic or "")
                ] += 1
                feedback.append(
                    NewFeedback(
                        f"{self.cursor_name}:{answer.event_id}", key, _utc(answer.at), answer.topic, answer.helpful
                    )
                )
                question = answer.question
                if not answer.helpful and question is not None and question.outcome not in (T.FORM, T.BUTTON):
                    turn = T.Turn(
                        answer.event_id,
                        answer.at,
                        question.text,
                        question.outcome,
                        guessed_topic=question.guessed_topic,
                        topic_confidence=question.topic_confidence,
                        intent=question.intent,
                        intent_confidence=question.intent_confidence,
                    )
                    candidates.append((key, turn, T.UNHELPFUL, answer.topic, conversation.names))
            if conversation.names and any(in_batch(i) for i in conversation.name_event_ids):
                renames[key] = conversation.names

        items, groups = self._place(candidates)
        renamed = self._rescrub(renames)
        batch = Batch(self.cursor_name, cursor, new_cursor, items, groups, feedback, counts, renamed)
        try:
            ids = self.review.commit(batch)
        except CursorMoved:
            logger.info("another collector wrote these events first; reloading")
            self.grouper = None
            result.caught_up = False
            return result
        self._settle_groups(ids)
        result.events, result.items, result.feedback = len(rows), len(items), len(feedback)
        return result

    def _place(self, candidates) -> Tuple[List[NewItem], List[GroupChange]]:
        if not candidates:
            return [], []
        scrubber = self.scrubber or get_scrubber()
        grouper = self._grouper()
        items: List[NewItem] = []
        texts = [scrubber.scrub(turn.text, names) for _key, turn, _kind, _topic, names in candidates]
        vectors = self.vectoriser.transform(texts)
        for index, (key, turn, kind, answer_topic, _names) in enumerate(candidates):
            group_key = grouper.place(vectors[index], texts[index])
            items.append(
                NewItem(
                    source=f"{self.cursor_name}:{turn.event_id}",
                    conversation_key=key,
                    at=_utc(turn.at),
                    kind=kind,
                    text=texts[index],
                    group_key=group_key,
                    guessed_topic=turn.guessed_topic,
                    topic_confidence=turn.topic_confidence,
                    intent=turn.intent,
                    intent_confidence=turn.intent_confidence,
                    answer_topic=answer_topic,
                )
            )
        changes = [
            GroupChange(g.key, to_json(g.total), g.members, g.label or "", self.vectoriser.fingerprint)
            for g in grouper.groups.values()
            if g.changed
        ]
        return items, changes

    def _rescrub(self, renames: Dict[str, set]) -> Dict[str, Dict[int, str]]:
        """Earlier items of conversations whose patient has since given a name, scrubbed again."""
        out: Dict[str, Dict[int, str]] = {}
        if not renames:
            return out
        scrubber = self.scrubber or get_scrubber()
        for key, names in renames.items():
            changed = {}
            for item in self.review.items_of(key):
                text = scrubber.scrub(item["text"], names)
                if text != item["text"]:
                    changed[item["id"]] = text
            if changed:
                out[key] = changed
        return out

    def _settle_groups(self, ids: Dict[int, int]) -> None:
        grouper = self.grouper
        if grouper is None:
            return
        for key in [k for k in grouper.groups if k < 0]:
            group = grouper.groups.pop(key)
            group.key = ids.get(key, key)
            grouper.groups[group.key] = group
        for group in grouper.groups.values():
            group.changed = False
            group.label = None
        grouper._matrix = None

    def catch_up(self, max_passes: int = 10_000) -> PassResult:
        total = PassResult()
        for _ in range(max_passes):
            result = self.run_once()
            total.events += result.events
            total.messages += result.messages
            total.items += result.items
            total.feedback += result.feedback
            if result.caught_up:
                break
        return total


def run_forever(collector: Collector, interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            result = collector.catch_up()
            if result.events:
                logger.info(
                    "read %d events: %d patient messages, %d review items, %d feedback answers",
                    result.events,
                    result.messages,
                    result.items,
                    result.feedback,
                )
        except StoreUnavailable as error:
            logger.error("clinic database unavailable (%s); trying again", error)
        except sa.exc.SQLAlchemyError as error:
            # The type only: a statement's error text could quote what a patient typed.
            logger.error("tracker store unavailable (%s); trying again", type(error).__name__)
        stop.wait(interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clinic.handoff.collector",
        description="Fill the review queue and the analytics counts from Rasa's tracker store.",
    )
    parser.add_argument("--once", action="store_true", help="catch up, then exit")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    parser.add_argument(
        "--tracker-store", default=None, help="SQLAlchemy URL (default: TRACKER_STORE_URL or endpoints.yml)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = args.tracker_store or tracker_store_url()
    if not url:
        logger.error("no SQL tracker store configured (endpoints.yml or TRACKER_STORE_URL): nothing to collect")
        return 1
    from clinic.handoff.review_store import ReviewStore

    collector = Collector(ReviewStore(get_store()), url)
    if args.once:
        result = collector.catch_up()
        print(
            f"Read {result.events} events: {result.messages} patient messages, {result.items} review items, "
            f"{result.feedback} feedback answers."
        )
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logger.info("collector started")
    run_forever(collector, args.interval, stop)
    collector.dispose()
    logger.info("collector stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
