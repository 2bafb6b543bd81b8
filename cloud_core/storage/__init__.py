"""The cloud's storage: the Protocols services depend on (``protocol``), and their implementation on
SQLAlchemy Core for both engines, SQLite and PostgreSQL: one store per concern over one shared
``Database``, held together by ``SqlCloudStore`` (``cloud_store``, which also migrates the database
with Alembic when it opens it).

``protocol`` imports value types only; the stores import the pure cores whose rows they write
(``events.ledger_math``, ``reports.rollups``, ``compile.carts``), never a servicer.
"""
