"""Units, errors, clocks and small helpers that every other room depends on."""
