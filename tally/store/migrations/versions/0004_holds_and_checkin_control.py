"""vote holds and check-in control

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_open', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('held_remaining_ms', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_column('held_remaining_ms')
        batch_op.drop_column('held')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('checkin_open')
