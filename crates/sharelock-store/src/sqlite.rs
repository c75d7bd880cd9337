//! SQLite backend (placeholder during bootstrap).
