"""notes and beats

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("notes", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("body", sa.String(200), nullable=False))
    op.create_table("beats", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("kind", sa.String(16), nullable=False),
                    sa.Column("release", sa.String(64), nullable=False),
                    sa.Column("host", sa.String(64), nullable=False))


def downgrade():
    op.drop_table("beats")
    op.drop_table("notes")
