"""The files a collection ships besides its FITS products, the roots files are served from,
and the files the server found missing.

- ``companion_file``: the other files of a collection that the harvest found (README,
  preview graphics, text or CSV beside a product): known by name, size and date, never read
  by the harvest; delivered by catalog id like products (DataLink ``#auxiliary``,
  ``#preview``). Their ``stem`` (name without extensions, as ``obs_id`` is for products)
  ties a companion to the products of the same observation.
- ``harvest_root``: every directory a harvest was given, resolved: the server serves no file
  whose real path leaves them (a symbolic link out of the tree is never followed).
- ``missing_file``: a harvested file the server could not deliver (gone, moved, or changed
  since the harvest), counted per request; the next harvest reports them and clears those it
  saw again.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped

from catalog.model.base import Base, _in, _table_args
from catalog.vo import vo_column

COMPANION_ROLES = ("readme", "graphic", "auxiliary")
STEM_SQL = r"regexp_replace(file_name, '(\.[A-Za-z0-9]+)?(\.(gz|bz2|xz|zip|fz))?$', '')"


class CompanionFile(Base):
    __tablename__ = "companion_file"
    __table_args__ = _table_args(
        "Files a collection ships besides its FITS products (README, previews, text), "
        "delivered by catalog id",
        sa.UniqueConstraint("collection_id", "file_name"),
        sa.CheckConstraint(
            "position('/' in file_name) = 0 AND file_name !~ '^\\.|^$'", name="file_name_bare"
        ),
        sa.CheckConstraint("file_bytes >= 0", name="file_bytes_positive"),
        sa.CheckConstraint(_in("role", COMPANION_ROLES), name="role_vocabulary"),
        sa.Index(None, "collection_id", "stem"),
        sa.Index(None, "file_path"),
        published=False,
    )

    companion_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.Identity(),
        primary_key=True,
        description="Internal identifier",
        ucd="meta.id;meta.main",
    )
    collection_id: Mapped[int] = vo_column(
        sa.Integer,
        sa.ForeignKey("collection.collection_id", ondelete="CASCADE"),
        nullable=False,
        description="Collection the file belongs to",
        ucd="meta.id;meta.dataset",
    )
    file_name: Mapped[str] = vo_column(
        sa.Text, nullable=False, description="File name, without directory", ucd="meta.id;meta.file"
    )
    stem: Mapped[str] = vo_column(
        sa.Text,
        sa.Computed(STEM_SQL, persisted=True),
        description="File name without its extension(s), to match a product's obs_id",
        ucd="meta.id",
    )
    file_path: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="Path of the file where it was harvested",
        ucd="meta.ref;meta.file",
    )
    file_bytes: Mapped[int] = vo_column(
        sa.BigInteger,
        nullable=False,
        description="Size of the file",
        unit="byte",
        ucd="phys.size;meta.file",
    )
    file_mtime: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        description="Modification time of the file when harvested (UTC)",
        ucd="time.processing",
    )
    media_type: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="MIME type of the file, from its name",
        ucd="meta.code.mime",
    )
    role: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="What the file is to the collection: readme, graphic (a preview), auxiliary",
        ucd="meta.code.class",
    )
    last_seen: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When a harvest last saw the file (UTC)",
        ucd="time.processing",
    )


class HarvestRoot(Base):
    __tablename__ = "harvest_root"
    __table_args__ = _table_args(
        "Directories harvests were given (resolved): no file outside them is ever served",
        published=False,
    )

    root: Mapped[str] = vo_column(
        sa.Text,
        primary_key=True,
        description="Real path of a harvested directory or file",
        ucd="meta.ref;meta.file",
    )
    first_harvested: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When a harvest was first given this root (UTC)",
        ucd="time.creation",
    )


class MissingFile(Base):
    __tablename__ = "missing_file"
    __table_args__ = _table_args(
        "Harvested files the server could not deliver (gone, moved or changed since the "
        "harvest); the next harvest reports and clears them",
        published=False,
    )

    file_path: Mapped[str] = vo_column(
        sa.Text,
        primary_key=True,
        description="Path of the file where it was harvested",
        ucd="meta.ref;meta.file",
    )
    reason: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="What the server found (gone, changed, outside)",
        ucd="meta.code",
    )
    first_noticed: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When a request first found the file missing (UTC)",
        ucd="time.creation",
    )
    requests: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default="1",
        description="Requests that found it missing since",
        ucd="meta.number",
    )
