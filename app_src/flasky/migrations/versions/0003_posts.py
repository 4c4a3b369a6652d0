"""posts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.DateTime(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_posts_timestamp"), "posts", ["timestamp"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_posts_timestamp"), table_name="posts")
    op.drop_table("posts")
