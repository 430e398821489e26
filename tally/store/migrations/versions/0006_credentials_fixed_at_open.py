"""credentials fixed at open (SPEC §8.1, revision 2)

``credentials.registered_index`` (the log index of the entry that added the key),
``credentials.admitted_from`` (the lowest ``open`` index that admits a checked-in credential),
``votes.open_index`` and ``meetings.sth_timestamp`` (the latest STH's timestamp, so the next is
never earlier). ``meetings.checkins`` becomes the number of *active* checked-in credentials.

Backfilled from the log (the source of truth) and the check-in numbers:
- ``registered_index``: the first ``credentials`` entry whose ``add`` holds the key;
- ``open_index``: the vote's ``open`` entry;
- ``admitted_from``: the first ``open`` entry after the credential's registration whose
  ``present`` reached its check-in number (the rule before this revision: ``checkin_order ≤
  present``), else the current log size (it is checked in: the next vote admits it). So a
  replacement card that inherited a check-in is not admitted to a vote opened before it was
  registered, and every other credential keeps exactly the votes it had.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ballot.hashing import parse_json

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registered_index', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('admitted_from', sa.Integer(), nullable=True))
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_index', sa.Integer(), nullable=True))
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sth_timestamp', sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    meetings = bind.execute(sa.text("SELECT id, log_size FROM meetings")).all()
    for meeting_id, log_size in meetings:
        registered: dict[str, int] = {}
        opens: list[tuple[int, int]] = []  # (index, present) in log order
        rows = bind.execute(sa.text(
            "SELECT idx, type, vote_id, data FROM log_entries WHERE meeting_id = :m AND type IN ('credentials', 'open')"
            " ORDER BY idx"), {"m": meeting_id})
        for idx, entry_type, vote_id, data in rows:
            entry = parse_json(bytes(data))
            if entry_type == "credentials":
                for key in entry["add"]:
                    registered.setdefault(key, idx)
            else:
                opens.append((idx, entry["present"]))
                bind.execute(sa.text("UPDATE votes SET open_index = :i WHERE meeting_id = :m AND vote_id = :v"),
                             {"i": idx, "m": meeting_id, "v": vote_id})
        credentials = bind.execute(sa.text(
            "SELECT id, public_key, checkin_order FROM credentials WHERE meeting_id = :m"), {"m": meeting_id}).all()
        for row_id, public_key, order in credentials:
            index = registered.get(public_key)
            admitted = None
            if order is not None and index is not None:
                admitted = next((o for o, present in opens if o > index and order <= present), log_size)
            bind.execute(sa.text("UPDATE credentials SET registered_index = :r, admitted_from = :a WHERE id = :i"),
                         {"r": index, "a": admitted, "i": row_id})
        bind.execute(sa.text(
            "UPDATE meetings SET checkins = (SELECT count(*) FROM credentials WHERE meeting_id = :m"
            " AND state = 'registered' AND admitted_from IS NOT NULL),"
            " sth_timestamp = (SELECT max(timestamp) FROM tree_heads WHERE meeting_id = :m) WHERE id = :m"),
            {"m": meeting_id})


def downgrade() -> None:
    # Before 0006, ``checkins`` counted first check-ins, and numbered them: the highest number.
    op.get_bind().execute(sa.text(
        "UPDATE meetings SET checkins = (SELECT coalesce(max(checkin_order), 0) FROM credentials"
        " WHERE credentials.meeting_id = meetings.id)"))
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), never a table copy: on SQLite, dropping the old
    # ``meetings`` table with foreign keys on would delete every row that references it.
    with op.batch_alter_table('meetings', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('sth_timestamp')
    with op.batch_alter_table('votes', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('open_index')
    with op.batch_alter_table('credentials', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('admitted_from')
        batch_op.drop_column('registered_index')
