"""feed entry content hash: an edit announced without a new `updated` time is fetched again

Revision ID: 7c1e0a2b9d4f
Revises: 342305aca145
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7c1e0a2b9d4f"
down_revision: str | Sequence[str] | None = "342305aca145"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("feed_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("feed_entries", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
