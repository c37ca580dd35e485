"""The dashboard's store: tables, migrations and the database connection."""
