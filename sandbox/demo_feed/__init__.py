"""The demo feed: a local social-media-like site with generated fashion photos."""
