"""Contact safety around people: ISO/TS 15066 body regions, limits and per-step accounting."""
