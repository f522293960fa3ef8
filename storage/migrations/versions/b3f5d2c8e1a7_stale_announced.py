"""feed stale_announced_at: a stale episode announced by `monitor run --stale-alert` survives a restart

Revision ID: b3f5d2c8e1a7
Revises: 7c1e0a2b9d4f
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

# revision identifiers, used by Alembic.
revision: str = "b3f5d2c8e1a7"
down_revision: str | Sequence[str] | None = "7c1e0a2b9d4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stale_announced_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("stale_announced_at")
