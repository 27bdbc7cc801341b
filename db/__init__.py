"""Database helpers below every app: hot statements written once as SQL (sql.py)."""
