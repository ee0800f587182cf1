"""The harvest audit (runs, failures) and the settings SQL needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, relationship

from catalog.model.base import (
    ID_UCD,
    RUN_STATES,
    Base,
    _in,
    _table_args,
)
from catalog.vo import vo_column


class HarvestRun(Base):
    __tablename__ = "harvest_run"
    __table_args__ = _table_args(
        "Audit of harvest runs: what was asked, when, and what happened to every file.",
        sa.CheckConstraint(_in("state", RUN_STATES), name="state_vocabulary"),
        sa.CheckConstraint("finished_at >= started_at", name="finished_after_start"),
        published=False,
    )

    run_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.Identity(),
        primary_key=True,
        description="Identifier of the run",
        ucd=ID_UCD,
    )
    started_at: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When the run started (UTC)",
        ucd="time.start",
    )
    finished_at: Mapped[datetime | None] = vo_column(
        sa.DateTime(timezone=True),
        description="When the run ended (UTC)",
        ucd="time.end",
    )
    state: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        server_default="running",
        description="running, completed, interrupted or failed",
        ucd="meta.code.status",
    )
    arguments: Mapped[Any] = vo_column(
        JSONB,
        nullable=False,
        server_default=sa.text("'{}'::jsonb"),
        description="What the run was asked to do (paths, collection, options)",
        ucd="meta.note",
    )
    host: Mapped[str | None] = vo_column(
        sa.Text,
        description="Host the run ran on",
        ucd="meta.id",
    )
    software_version: Mapped[str | None] = vo_column(
        sa.Text,
        description="Version of hlsp-catalog that ran",
        ucd="meta.version",
    )
    files_seen: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default="0",
        description="Files found",
        ucd="meta.number",
    )
    files_added: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default="0",
        description="New products written",
        ucd="meta.number",
    )
    files_updated: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default="0",
        description="Changed products rewritten",
        ucd="meta.number",
    )
    files_unchanged: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default="0",
        description="Files skipped as unchanged (same size and mtime)",
        ucd="meta.number",
    )
    files_failed: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default="0",
        description="Files that failed",
        ucd="meta.number",
    )
    files_withdrawn: Mapped[int] = vo_column(
        sa.Integer,
        nullable=False,
        server_default="0",
        description="Products whose files disappeared",
        ucd="meta.number",
    )

    failures: Mapped[list[HarvestFailure]] = relationship(
        back_populates="run", cascade="all, delete-orphan"
    )


class HarvestFailure(Base):
    __tablename__ = "harvest_failure"
    __table_args__ = _table_args(
        "Every file a harvest could not read or load, with the reason.",
        sa.UniqueConstraint("run_id", "file_path"),
        sa.Index(None, "file_path"),
        published=False,
    )

    failure_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.Identity(),
        primary_key=True,
        description="Identifier of the failure",
        ucd=ID_UCD,
    )
    run_id: Mapped[int] = vo_column(
        sa.BigInteger,
        sa.ForeignKey("harvest_run.run_id", ondelete="CASCADE"),
        nullable=False,
        description="Run in which the file failed",
        ucd="meta.id",
    )
    file_path: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="Path of the file",
        ucd="meta.ref;meta.file",
    )
    code: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="Stable code of the failure kind",
        ucd="meta.code.error",
    )
    reason: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="What went wrong",
        ucd="meta.note",
    )
    occurred_at: Mapped[datetime] = vo_column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        description="When the failure happened (UTC)",
        ucd="time.processing",
    )
    file_bytes: Mapped[int | None] = vo_column(
        sa.BigInteger,
        description="Size of the file, if it could be read",
        unit="byte",
        ucd="phys.size;meta.file",
    )
    file_mtime: Mapped[datetime | None] = vo_column(
        sa.DateTime(timezone=True),
        description="Modification time of the file",
        ucd="time.processing",
    )

    run: Mapped[HarvestRun] = relationship(back_populates="failures")


class Setting(Base):
    __tablename__ = "setting"
    __table_args__ = _table_args(
        "Service settings that SQL needs (e.g. the IVOA authority of publisher DIDs).",
        published=False,
    )

    name: Mapped[str] = vo_column(
        sa.Text,
        primary_key=True,
        description="Setting name",
        ucd="meta.id",
    )
    setting_value: Mapped[str] = vo_column(
        sa.Text,
        nullable=False,
        description="Setting value",
        ucd="meta.note",
    )
