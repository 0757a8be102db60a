"""Question tables: the bundled real-data demo set and loaders for user data."""
