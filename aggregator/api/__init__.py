"""The HTTP API (FastAPI) and the entrance display: live occupancy per store, cameras,
policy changes, and a server-sent-events stream of occupancy changes."""
