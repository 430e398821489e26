"""Alembic migrations for the tally database. ``upgrade(app)`` brings a database to the latest
revision (``flask --app tally db upgrade`` runs it); SQLite instances upgrade at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask

HERE = Path(__file__).resolve().parent


def alembic_config(engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app.extensions["piaojue.engine"]), revision)
