"""user profile fields

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("location", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("about_me", sa.Text(), nullable=True))
        batch.add_column(sa.Column("member_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_seen", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        for column in ("last_seen", "member_since", "about_me", "location", "name"):
            batch.drop_column(column)
