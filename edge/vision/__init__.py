"""Pixels to people: frame sources, detector backends, letterboxing, tiling, model export and
drawing. Nothing here counts or publishes."""
