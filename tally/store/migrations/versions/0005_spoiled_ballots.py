"""index of spoiled ballots

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ballot.ballot import ballot_hash
from ballot.hashing import parse_json

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    spoiled = op.create_table(
        'spoiled_ballots',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('meeting_id', sa.String(length=64), nullable=False),
        sa.Column('vote_id', sa.String(length=64), nullable=False),
        sa.Column('ballot_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('leaf_index', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_spoiled_ballots_hash', 'spoiled_ballots', ['meeting_id', 'ballot_hash'], unique=False)
    # Backfill from the log: every spoiled entry already logged (the log is the source of truth).
    rows = op.get_bind().execute(sa.text(
        "SELECT meeting_id, idx, vote_id, data FROM log_entries WHERE type = 'spoiled' ORDER BY meeting_id, idx"))
    backfill = [{"meeting_id": meeting_id, "vote_id": vote_id, "leaf_index": idx,
                 "ballot_hash": ballot_hash(parse_json(bytes(data))["ballot"])}
                for meeting_id, idx, vote_id, data in rows]
    if backfill:
        op.bulk_insert(spoiled, backfill)


def downgrade() -> None:
    op.drop_index('ix_spoiled_ballots_hash', table_name='spoiled_ballots')
    op.drop_table('spoiled_ballots')
