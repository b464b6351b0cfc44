"""The contract of every topic: Avro schemas (``*.avsc``) and one pydantic model per record."""

from pathlib import Path

SCHEMA_DIR = Path(__file__).parent

__all__ = ["SCHEMA_DIR"]
