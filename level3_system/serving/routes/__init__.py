"""One router per domain: scoring (the hot path), probes (health, readiness, model, metrics), admin (reload)."""
