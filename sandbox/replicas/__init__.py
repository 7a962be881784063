"""Local replicas of five social-media JSON APIs (Mastodon, Pixelfed, Bluesky, Flickr, Tumblr),
one module per service, and the Instagram-like login-walled grid.

Offline tests and benchmarks of the scraper's JSON-API sources point a built-in source at one of
these apps (`base_url`) instead of the real service. Each replica answers in the service's own
shapes, status codes, error bodies, paging and rate-limit headers, as read from the services'
source code and documentation (see the notes on each factory), and serves every post's images
itself, from the host the request came to, so nothing ever leaves 127.0.0.1.

Every factory takes one `ReplicaOptions`: how many posts, which tags exist, and the faults to
inject (latency, 503s, a 429 with the service's headers, a broken first page, a duplicated post
across pages, failing images...). The same options always give the same posts. An app records the
requests it got in `app.config["requests"]` (never a secret) and what it holds in
`app.config["catalogue"]` (tag -> `ReplicaPost` list, newest first), so a test can say what the
scraper should have found.
"""

from sandbox.replicas.bluesky import create_bluesky_app
from sandbox.replicas.common import REFERENCE, ReplicaOptions, ReplicaPost, replica_jpeg, serving
from sandbox.replicas.flickr import create_flickr_app
from sandbox.replicas.mastodon import create_mastodon_app
from sandbox.replicas.pixelfed import create_pixelfed_app
from sandbox.replicas.tumblr import create_tumblr_app

__all__ = [
    "REFERENCE",
    "ReplicaOptions",
    "ReplicaPost",
    "create_bluesky_app",
    "create_flickr_app",
    "create_mastodon_app",
    "create_pixelfed_app",
    "create_tumblr_app",
    "replica_jpeg",
    "serving",
]
