"""What the kill tests' fork server imports once (reliability.fork_start): the command lines and
Keras with TensorFlow, so a forked scrape or build starts at its work instead of at a second of
imports (five for TensorFlow). Importing runs no TensorFlow op and starts no thread pool; those
start in each child, after the fork."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: F401

import clustering.cli  # noqa: F401
import scraper.cli  # noqa: F401
