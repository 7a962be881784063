"""Gathering tagged images into the store: sources, downloader, importer and the demo feed site."""
