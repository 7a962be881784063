"""The store's repositories: what the rest of StyleScout reads and writes, one kind of record
each, over either back end (`store/database.py`)."""

from store.repositories.accounts import AccountRepository
from store.repositories.features import FeatureRepository
from store.repositories.follows import Follow, FollowRepository, Notice
from store.repositories.images import ImageRepository
from store.repositories.ratings import RatingRepository
from store.repositories.runs import RUN_STATUSES, RunRepository
from store.repositories.sessions import Session, SessionRepository

__all__ = [
    "RUN_STATUSES",
    "AccountRepository",
    "FeatureRepository",
    "Follow",
    "FollowRepository",
    "ImageRepository",
    "Notice",
    "RatingRepository",
    "RunRepository",
    "Session",
    "SessionRepository",
]
