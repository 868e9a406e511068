"""Small shared helpers: seeding, fingerprints, atomic file writes, parameter checks."""
