"""Load and validate `config.yaml` into typed settings.

Every section forbids unknown keys, so a typo such as `demo_feed.prot` is an error naming the
key and the file instead of a setting that silently does nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import logging
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from stylescout.errors import ConfigError

log = logging.getLogger(__name__)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Section):
    """Where the store's database and image files are, and how long a writer waits for its lock."""

    url: str | None = Field(
        None,
        max_length=2000,
        description="the database: a SQLite file (default: data_dir/store.sqlite) or"
        " postgresql://user@host:port/db (needs `make setup-scale`)",
    )
    busy_timeout_ms: int = Field(
        10_000,
        ge=0,
        description="how long a writer waits for another writer's lock (SQLite's busy timeout,"
        " PostgreSQL's lock_timeout)",
    )
    images_url: str | None = Field(
        None,
        max_length=2000,
        description="the image folder (default: data_dir/images), or an fsspec URL such as"
        " s3://bucket/prefix (needs `make setup-scale`)",
    )
    images_options: dict[str, Any] = Field(
        default_factory=dict,
        description="options for the fsspec filesystem of images_url (e.g. endpoint_url, key,"
        " secret); credentials otherwise come from the usual AWS variables and files",
        repr=False,  # may hold a secret
    )


class DemoFeedConfig(_Section):
    """The local social-media-like site used by `make demo` and the tests."""

    host: str = Field("127.0.0.1", description="the address the demo feed binds")
    port: int = Field(
        8765, ge=0, le=65535, description="its port (--port overrides it; 0 picks a free one)"
    )
    seed: int = Field(7, description="the same seed gives the same posts and pixels")
    posts_per_style: int = Field(200, ge=25, le=5000, description="posts per style family")
    page_size: int = Field(24, ge=20, le=200, description="posts per `?page=N` page")
    image_width: int = Field(320, ge=256, le=2048, description="image width in pixels")
    image_height: int = Field(400, ge=256, le=2048, description="image height in pixels")
    weeks: int = Field(12, ge=2, le=104, description="the weeks the posts span")
    end_date: dt.date = Field(dt.date(2026, 11, 15), description="the day the posts end")
    repost_rate: float = Field(
        0.08, ge=0.0, le=0.5, description="the share of posts that repost an earlier image"
    )


class ScraperConfig(_Section):
    """The downloader shared by every source."""

    default_source: str | None = Field(
        None, description="used when no --source is given (the demo commands make it demo)"
    )
    workers: int = Field(8, ge=1, le=64, description="parallel image downloads")
    connect_timeout_s: float = Field(
        5.0, gt=0, le=120, description="seconds to wait for a connection to a site"
    )
    read_timeout_s: float = Field(15.0, gt=0, le=600, description="seconds to wait for an answer")
    retries: int = Field(3, ge=0, le=10, description="retries on 429/5xx and connection errors")
    backoff_s: float = Field(0.3, ge=0, le=30, description="exponential backoff factor")
    max_retry_after_s: float = Field(30.0, ge=0, le=600, description="longest Retry-After obeyed")
    max_redirects: int = Field(
        5, ge=0, le=30, description="redirects followed, each one checked again"
    )
    max_bytes: int = Field(20_000_000, ge=1024, description="largest image body accepted")
    max_pixels: int = Field(40_000_000, ge=10_000, description="largest width x height decoded")
    near_duplicate_distance: int = Field(
        10, ge=0, le=32, description="phash bits for a near-duplicate candidate; 0 = exact only"
    )
    user_agent: str = Field(
        "StyleScout/0.1 (+https://github.com/stylescout/stylescout)",
        description="sent with every request and matched against robots.txt",
    )


class Selectors(_Section):
    """CSS selectors for one site's posts; `css@attr` reads an attribute instead of the text."""

    post: str = Field("article", description="one post on a page")
    image: str = Field("img", description="the post's image, inside the post")
    link: str = Field("a[href]", description="the link to the post (its href)")
    caption: str = Field(".caption", description="the caption, whose hashtags become tags")
    time: str = Field("time", description="when it was posted (its datetime attribute)")
    likes: str = Field(".likes", description="its like count")
    author: str = Field("", description="the author's name or handle ('': the page gives none)")
    author_link: str = Field(
        "", description="the link to the author's page (its href; '': the page gives none)"
    )
    licence: str = Field(
        "",
        description="the licence: a Creative Commons link or name, e.g."
        " `a[rel~=license]@href` ('': the page gives none)",
    )


class FieldPaths(_Section):
    """Where a post's parts are in one item of an API answer.

    A path is dotted keys with `[]` for every element of a list: `media_attachments[].url`,
    `photos[].original_size.url`. `image` lists paths tried in order: the first that gives any
    URL wins (e.g. `url_b` then `url_l`). `post_url_template` builds the link from fields instead,
    e.g. `https://www.flickr.com/photos/{owner}/{id}`; `author_url_template` the author's, e.g.
    `https://bsky.app/profile/{author.handle}`. A licence is kept as the identifier it names
    (`stylescout.licences`); one that names no licence known there is dropped.
    """

    image: list[str] = Field(
        default_factory=lambda: ["image"],
        min_length=1,
        description="paths of the image URL, tried in order: the first that gives any URL wins",
    )
    post_url: str | None = Field("url", description="path of the link to the post")
    post_url_template: str | None = Field(
        None, description="builds the link from the item's fields instead of post_url"
    )
    text: str | None = Field(None, description="path of the caption, whose hashtags become tags")
    text_is_html: bool = Field(True, description="the caption is HTML, read as its text")
    time: str | None = Field(None, description="path of when it was posted")
    likes: str | None = Field(None, description="path of its like count")
    tags: str | None = Field(None, description="a list of tags, or one space-separated string")
    author: str | None = Field(None, description="path of the author's name or handle")
    author_url: str | None = Field(None, description="path of the link to the author's page")
    author_url_template: str | None = Field(
        None, description="builds the author's link from the item's fields instead of author_url"
    )
    licence: str | None = Field(
        None,
        description="path of the licence: an id such as CC-BY-4.0, a Creative Commons name or"
        " link, or a code of licence_codes",
    )
    licence_codes: dict[str, str] = Field(
        default_factory=dict,
        description="the site's own licence codes and the licence each stands for (Flickr's"
        " numbers: '4' is CC-BY-2.0)",
    )
    kind: list[str] = Field(
        default_factory=list,
        description="paths of the media kind(s) an item carries (e.g. media_attachments[].type):"
        " a post without a photo is skipped as video, animated, audio or link by the first that"
        " names one, as text only when none does",
    )


class PagingConfig(_Section):
    """How an API source asks for the next page.

    `link`: the `Link: <...>; rel="next"` header. `cursor`: the answer's `field` sent back as
    `param`. `max_id`: `field` of the last item sent back as `param` (Pixelfed's `max_id`,
    Tumblr's `before` timestamp). `page`: `param` counts up, to the answer's `total_field` when
    given. `none`: one request.
    """

    kind: Literal["none", "link", "cursor", "max_id", "page"] = Field(
        "none", description="how the next page is asked for (see above)"
    )
    param: str | None = Field(
        None, description="the query parameter that asks for the next page (cursor, max_id, page)"
    )
    field: str | None = Field(
        None,
        description="cursor: the answer's field sent back; max_id: the last item's field sent back",
    )
    total_field: str | None = Field(
        None, description="page: the answer's field that gives the number of pages"
    )

    @model_validator(mode="after")
    def _what_each_kind_needs(self) -> PagingConfig:
        needs = {"cursor": ("param", "field"), "max_id": ("param", "field"), "page": ("param",)}
        missing = [key for key in needs.get(self.kind, ()) if not getattr(self, key)]
        if missing:
            raise ValueError(f"paging kind {self.kind!r} needs {' and '.join(missing)}")
        return self


class CredentialConfig(_Section):
    """A token or key the person gives, read from `env` or else from `file`; never logged or
    stored. `send` says how it goes with each request: `bearer` (Authorization header), `param`
    (a query parameter such as `api_key`) or `login` (a source module logs in with it)."""

    env: str | None = Field(None, description="the environment variable that holds it")
    file: Path | None = Field(None, description="a file that holds it, read when env gives none")
    send: Literal["bearer", "param", "login"] = Field(
        "bearer", description="how it is sent: an Authorization header, a query parameter, a login"
    )
    param: str | None = Field(None, description="send: param: the query parameter's name")
    required: bool = Field(
        False, description="the source refuses to run without it (else it runs anonymously)"
    )
    user_env: str | None = Field(None, description="login: the account name (e.g. a handle)")
    help: str = Field("", description="one line: how a person gets the credential")

    @model_validator(mode="after")
    def _how_it_is_sent(self) -> CredentialConfig:
        if self.send == "param" and not self.param:
            raise ValueError("send: param needs `param` (the query parameter's name)")
        if not self.env and not self.file:
            raise ValueError("a credential needs `env` or `file` to be read from")
        return self


class ApiConfig(_Section):
    """A JSON API source: where the posts are in an answer and how to page.

    The URL template is the source's `url`; `params` are query parameters (templates too).
    """

    params: dict[str, str] = Field(
        default_factory=dict, description="query parameters, each a template like the URL"
    )
    items: str = Field("", description="path of the list of posts; '' = the answer itself")
    fields: FieldPaths = Field(FieldPaths(), description="where a post's parts are in one item")
    paging: PagingConfig = Field(PagingConfig(), description="how the next page is asked for")
    credential: CredentialConfig | None = Field(
        None, description="a token or key of yours sent with each request"
    )
    max_images_per_post: int = Field(4, ge=1, le=100, description="images taken from one post")
    max_response_bytes: int = Field(
        5_000_000, ge=1024, le=200_000_000, description="largest answer read"
    )
    max_json_depth: int = Field(64, ge=4, le=1000, description="deepest nesting of an answer read")
    max_items_per_page: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="items read from one answer; the rest are left unread and the page counted"
        " as one too_many_items failure (real APIs give at most a few hundred a page)",
    )
    max_rate_limit_wait_s: float = Field(
        300.0, ge=0, le=86_400, description="longest rate-limit wait slept through"
    )
    default_rate_limit_wait_s: float = Field(
        60.0, ge=0, le=3600, description="wait after a 429 that says nothing"
    )
    request_spacing_s: float = Field(
        0.0, ge=0, le=60, description="pause between API requests (images are not slowed)"
    )
    skip_if: list[str] = Field(
        default_factory=list, description="paths: an item where any is set is skipped (boosts)"
    )


class InstanceConfig(_Section):
    """One instance of a federated site (Mastodon, Pixelfed) and the access token it issued:
    a token goes to the instance that issued it and to no other."""

    host: str = Field(description="the instance's host name, or the http(s) URL of a mirror")
    token_env: str | None = Field(
        None, description="the environment variable that holds this instance's access token"
    )
    token_file: Path | None = Field(None, description="or a file of one line that holds it")


class SourceConfig(_Section):
    """A site to scrape. A new site is one of these in config.yaml, not new code.

    URL templates take `{tag}` (and `{page}` for `page_url`); `{base_url}` stands for the
    source's `base_url`. `api` sources may name a built-in site as `module` to read with that
    site's own source class (e.g. another Mastodon-like service: `module: mastodon`). The
    built-in entries come from the installed sites (`builtin_sources`); the demo feed's sources
    are added by the demo commands.
    """

    kind: Literal["browser", "html", "api"] = Field(
        "html", description="browser (Chromium, infinite scroll), html (pages) or api (JSON)"
    )
    url: str = Field(description="URL template of the tag's posts (the first page)")
    page_url: str | None = Field(
        None, description="URL template of page {page} (html sources, html_fallback)"
    )
    base_url: str | None = Field(None, description="e.g. a local replica or your own mirror")
    instances: list[str | InstanceConfig] = Field(
        default_factory=list,
        description="mastodon, pixelfed: instances walked in turn, each a host name or"
        " {host, token_env, token_file} with the token that instance issued (sent to it alone)",
    )
    module: str | None = Field(
        None, description="a built-in site whose source class reads this entry (e.g. mastodon)"
    )
    api: ApiConfig | None = Field(
        None, description="kind api: where the posts are in an answer and how to page"
    )
    next_selector: str = Field('a[rel="next"]', description="the next-page link of html sources")
    selectors: Selectors = Field(Selectors(), description="CSS selectors of a page's posts")
    enabled: bool = Field(True, description="false switches the source off")
    reuse_only: bool = Field(
        False,
        description="keep only posts whose licence allows reuse with credit (CC BY and the other"
        " CC licences, CC0, public domain); the rest, and posts without a licence, are skipped",
    )
    html_fallback: bool = Field(
        False, description="browser: read page_url pages when Chromium is missing"
    )
    robots: bool = Field(True, description="honour the site's robots.txt")
    allow_private_network: bool = Field(
        False, description="may reach private and local addresses (the demo sources do)"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="host:port pairs reachable even when private (e.g. your own mirror)",
    )
    host_spacing_s: float = Field(0.0, ge=0, le=60, description="pause between requests to a host")
    max_pages: int = Field(100, ge=1, le=10_000, description="pages or API requests at most")
    max_scrolls_without_new: int = Field(
        3, ge=1, le=50, description="browser: scrolls that bring nothing new before it stops"
    )
    scroll_wait_s: float = Field(
        4.0, gt=0, le=60, description="browser: seconds to wait for posts after a scroll"
    )
    cookie_name: str | None = Field(None, description="a session cookie of yours: its name")
    cookie_env: str | None = Field(
        None, description="the environment variable that holds the cookie's value"
    )
    cookie_file: Path | None = Field(
        None, description="a file that holds the cookie's value (never logged or stored)"
    )

    @model_validator(mode="after")
    def _api_needs_its_section(self) -> SourceConfig:
        if self.kind == "api" and self.api is None:
            raise ValueError("an api source needs an `api:` section (items, fields, paging)")
        credential = self.api.credential if self.api else None
        if credential is not None and credential.send == "login" and self.module != "bluesky":
            raise ValueError("send: login needs a source module that logs in (module: bluesky)")
        return self


class ColourConfig(_Section):
    """A colour histogram of the garment (near-white studio background left out), joined to the
    CNN features; on by default because it measurably wins (see docs/explanation/benchmarks.md)."""

    enabled: bool = Field(True, description="join the colour histogram to the CNN features")
    bins: int = Field(8, ge=2, le=16, description="bins per RGB channel")
    weight: float = Field(0.8, ge=0, le=10, description="its weight against the CNN part")
    background_threshold: int = Field(
        235,
        ge=0,
        le=256,
        description="pixels brighter in every channel are background; 256 keeps every pixel",
    )


class GarmentConfig(_Section):
    """The garment's own blocks (clustering/garment.py): its region (a mask from the image
    alone), its shape (HOG of the mask and of the garment in grey, moments) and its colour (a
    CIE Lab palette histogram of the garment's pixels), joined to the CNN features before the
    colour part, each at its weight (0 leaves a block out). Off by default for now: see
    docs/explanation/benchmarks.md for what each block gives and costs."""

    enabled: bool = Field(False, description="join the garment's blocks to the descriptor")
    shape_weight: float = Field(
        1.2, ge=0, le=10, description="weight of the HOG of the grey garment inside its mask"
    )
    mask_weight: float = Field(1.0, ge=0, le=10, description="weight of the HOG of its mask")
    geometry_weight: float = Field(
        0.3, ge=0, le=10, description="weight of the mask's Hu moments, aspect, fill and area"
    )
    colour_weight: float = Field(
        0.0, ge=0, le=10, description="weight of the Lab histogram of the garment's pixels"
    )
    grabcut: bool = Field(
        False, description="refine the mask with GrabCut (busy backgrounds; about 1.4x the time)"
    )


class LearningConfig(_Section):
    """The style space learned from the store's tags, labels and ratings (learned_space)."""

    min_images: int = Field(100, ge=2, description="tagged images needed, else the raw space")
    min_tag_images: int = Field(5, ge=2, description="a tag on fewer images is not used")
    max_tag_share: float = Field(
        0.5, gt=0, le=1, description="a tag on more of the tagged images is not used"
    )
    pca_dims: int = Field(256, ge=2, le=4096, description="the descriptor is reduced to this first")
    dims: int = Field(64, ge=1, le=1024, description="learned directions kept at most")
    shrinkage: float = Field(0.1, ge=0, le=1, description="regularises the within-tag scatter")
    raw_weight: float = Field(0.25, ge=0, le=10, description="weight of the raw part joined to it")
    keep_colour: bool = Field(True, description="keep the colour histogram beside it, as weighted")
    tune_weights: bool = Field(
        True, description="choose the raw and colour parts' weights on held-out tagged images"
    )
    objective: Literal["no_kind_loses", "all_tags"] = Field(
        "no_kind_loses",
        description="no_kind_loses: the best where no kind of tag (a label column, the "
        "hashtags) loses against the raw space; all_tags: every tag alike, whatever its kind",
    )
    rating_weight: float = Field(0.5, ge=0, le=10, description="a person's liked items as a tag")
    seed: int = Field(7, description="seed of the draw of the held-out tagged images")


class FeaturesConfig(_Section):
    """The image descriptor: a Keras backbone, pooled, standardised, plus the colour part."""

    backbone: Literal["resnet50", "resnet101", "densenet121", "inception_v3"] = Field(
        "resnet50", description="the Keras backbone (CNN) that describes an image"
    )
    weights: str = Field("auto", description="auto | imagenet | none | path to a .h5 file")
    input_size: int = Field(224, ge=32, le=1024, description="input side in pixels")
    pooling: Literal["avg", "max"] = Field("max", description="global max or average pooling")
    pad: bool = Field(True, description="keep the aspect ratio and pad (else squash)")
    pad_colour: tuple[int, int, int] = Field(
        (255, 255, 255), description="RGB colour of the padding"
    )
    batch_size: int = Field(32, ge=1, le=512, description="images per model call")
    standardise: bool = Field(True, description="z-score each dimension over the store")
    seed: int = Field(7, description="seed of the random weights when ImageNet is unavailable")
    colour: ColourConfig = Field(
        ColourConfig(), description="the colour histogram joined to the CNN features"
    )
    garment: GarmentConfig = Field(
        GarmentConfig(), description="the garment's mask, shape and colour blocks"
    )
    space: Literal["learned", "raw"] = Field(
        "learned", description="learn the space from the store's tags (raw: the descriptor)"
    )
    learning: LearningConfig = Field(
        LearningConfig(), description="how the style space is learned from the store's tags"
    )
    runtime: Literal["tensorflow", "openvino"] = Field(
        "openvino",
        description="what runs the backbone: TensorFlow, or OpenVINO (the Keras model converted"
        " once and kept on disk)",
    )
    precision: Literal["fp32", "int8", "bf16"] = Field(
        "fp32",
        description="OpenVINO's arithmetic: fp32; int8, quantized on the store's own images;"
        " bf16 where the CPU has it",
    )
    model_dir: Path | None = Field(
        None, description="where converted models are kept (default: the user's cache folder)"
    )
    engine: Literal["local", "ray"] = Field(
        "local", description="where features are extracted: this process, or Ray Data actors"
    )
    ray_address: str | None = Field(
        None, max_length=500, description="a Ray cluster to join ('auto'); none: start one here"
    )
    ray_actors: int = Field(2, ge=1, le=1024, description="Ray actors, each with one model")
    ray_cpus: int | None = Field(None, ge=1, le=1024, description="CPUs of a Ray started here")

    @model_validator(mode="after")
    def _precision_needs_openvino(self) -> FeaturesConfig:
        if self.runtime == "tensorflow" and self.precision != "fp32":
            raise ValueError(f"precision {self.precision} needs runtime: openvino")
        return self


class ClusteringConfig(_Section):
    """SciPy hierarchical clustering into styles."""

    method: Literal["ward", "average", "complete", "single", "weighted", "centroid", "median"] = (
        Field("ward", description="SciPy linkage method")
    )
    n_styles: int | None = Field(12, ge=1, le=500, description="target number of styles")
    distance_threshold: float | None = Field(None, gt=0, description="cut height instead")
    merge_threshold: float = Field(0.15, ge=0, description="merge styles with closer centroids")
    min_size: int = Field(5, ge=1, description="smaller styles join their nearest neighbour")
    exact_limit: int = Field(20_000, ge=10, description="above: linkage on k-means centroids")
    micro_clusters: int = Field(
        1_000, ge=10, le=20_000, description="k-means micro-clusters linked above exact_limit"
    )
    pca_dims: int = Field(128, ge=2, le=4096, description="dimensions the linkage works in")
    representatives: int = Field(6, ge=1, le=50, description="members kept to show each style")
    seed: int = Field(7, description="seed of the PCA and the k-means micro-clusters")


class InterleaveConfig(_Section):
    """Two backbones compared online: Discover's list mixes the top items of the main index and
    of a challenger's (team-draft interleaving) and each rating is credited to the one that
    placed the item. Off by default: it embeds every photo twice."""

    enabled: bool = Field(False, description="serve the main and the challenger's index at once")
    challenger: Literal["resnet50", "resnet101", "densenet121", "inception_v3"] = Field(
        "densenet121", description="the backbone compared with features.backbone"
    )
    liked: int = Field(4, ge=2, le=5, description="a rating this high counts for the model")


class SearchConfig(_Section):
    """Nearest-item search: exact numpy for small indexes, a FAISS index for large ones."""

    engine: Literal["auto", "numpy", "faiss"] = Field(
        "auto", description="auto: a FAISS index above faiss_from items, when faiss is installed"
    )
    faiss_from: int = Field(100_000, ge=0, description="auto: larger indexes get a FAISS index")
    exact_up_to: int = Field(
        200_000, ge=0, description="FAISS: exact (IndexFlatIP) up to this many items, then kind"
    )
    kind: Literal["ivf", "hnsw"] = Field("ivf", description="the approximate index above that")
    storage: Literal["sq8", "fp16", "flat"] = Field("sq8", description="how vectors are coded")
    nlist: int | None = Field(None, ge=1, le=1_000_000, description="IVF lists (default √n)")
    nprobe: int = Field(32, ge=1, le=65_536, description="IVF lists searched per query")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW: links per node (M)")
    ef_search: int = Field(128, ge=1, le=4096, description="HNSW: candidates kept per query")
    train_size: int = Field(64_000, ge=1_000, le=2_000_000, description="IVF training sample")
    recall_queries: int = Field(200, ge=10, le=10_000, description="the build's recall check")


class RecommenderConfig(_Section):
    """Matching a person's photos and the nearest items."""

    k: int = Field(10, ge=1, le=200, description="items shown")
    match_threshold: float = Field(0.35, ge=-1, le=1, description="mean cosine to a style")
    pca_components: int | None = Field(None, ge=2, le=4096, description="faster, approximate")
    photo_weight: float = Field(1.0, gt=0, description="Rocchio: weight of the person's photos")
    like_weight: float = Field(0.75, ge=0, description="Rocchio: pull towards items rated 4-5")
    dislike_weight: float = Field(0.25, ge=0, description="Rocchio: push from items rated 1-2")
    learner: Literal["rocchio", "logistic"] = Field(
        "logistic", description="how ratings re-rank: Rocchio alone, or a per-person model"
    )
    learner_pool: int = Field(300, ge=10, le=20_000, description="candidates it re-ranks")
    learner_c: float = Field(1.0, gt=0, le=1000, description="its inverse regularisation")
    show_rated: bool = Field(False, description="show items already rated again")
    interleave: InterleaveConfig = Field(
        InterleaveConfig(), description="two backbones compared online (off by default)"
    )


_RATE = r"^[0-9]{1,9} ?(/|per) ?(second|minute|hour|day)$"


class RateLimitConfig(_Section):
    """Requests one person may make, where the dashboard asks for sign-in (a local dashboard
    without sign-in has one person: this machine). A person is a signed-in account, else the
    client's address. Over a limit the answer is 429 with Retry-After. Notation: "10/minute"."""

    enabled: bool = Field(True, description="limit requests where the dashboard asks for sign-in")
    sign_in: str = Field(
        "10/minute", pattern=_RATE, description="sign-in attempts (POST /login) per address"
    )
    callbacks: str = Field(
        "600/minute", pattern=_RATE, description="page callbacks (clicks, ratings, uploads, polls)"
    )
    images: str = Field("1200/minute", pattern=_RATE, description="images and thumbnails")
    api: str = Field("120/minute", pattern=_RATE, description="requests to the JSON API")


class DashboardConfig(_Section):
    """The Dash web app."""

    host: str = Field(
        "127.0.0.1", description="the address the dashboard binds (this machine only)"
    )
    port: int = Field(8050, ge=0, le=65535, description="its port (--port overrides it)")
    title: str = Field("StyleScout", description="the name in the navigation bar and browser tab")
    max_upload_bytes: int = Field(15_000_000, ge=1024, description="largest photo accepted")
    max_upload_pixels: int = Field(40_000_000, ge=10_000, description="largest width x height")
    max_photos: int = Field(8, ge=1, le=50, description="photos a person can use at once")
    max_callback_bytes: int = Field(
        1_000_000, ge=10_000, description="request body cap of every callback but the upload"
    )
    max_concurrent_decodes: int = Field(
        2, ge=1, le=64, description="uploaded photos decoded at the same time"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host header names served besides 127.0.0.1, localhost, ::1 and `host`",
    )
    threads: int = Field(8, ge=1, le=256, description="requests served at the same time")
    connection_limit: int = Field(100, ge=1, le=10_000, description="open connections at most")
    idle_timeout_s: int = Field(30, ge=1, le=3600, description="an idle connection is closed")
    header_timeout_s: float = Field(
        10.0,
        ge=1,
        le=300,
        description="a request's line and headers must arrive within this many seconds of its"
        " first byte, or the connection is closed (a slow client holds no connection for long)",
    )
    min_body_rate: int = Field(
        10_000,
        ge=0,
        le=100_000_000,
        description="bytes a second a request body must average once header_timeout_s has"
        " passed since its headers, or the connection is closed (0: no floor)",
    )
    connections_per_address: int = Field(
        32,
        ge=1,
        le=10_000,
        description="open connections one client address may hold at once (the"
        " trusted_proxies, which carry everyone's requests, are not held to it)",
    )
    auth: Literal["auto", "password", "header"] = Field(
        "auto",
        description="sign-in: auto = none on 127.0.0.1 in one process, else password; header ="
        " a reverse proxy's single sign-on names the person in `trusted_header`",
    )
    trusted_header: str = Field(
        "X-Forwarded-User",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="the header a proxy such as oauth2-proxy sets to the signed-in name",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="addresses whose `trusted_header` is believed (the proxy's own)",
    )
    session_hours: float = Field(12, gt=0, le=24 * 30, description="a sign-in lasts this long")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Addresses or networks, written the one way both the sign-in check and gunicorn read."""
        out = []
        for entry in value:
            try:
                out.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return [n.removesuffix("/32").removesuffix("/128") for n in out]

    secure_cookies: Literal["auto", "always"] = Field(
        "auto",
        description="auto: cookies are Secure when the request came over https; always: even on"
        " plain http (the browser then sends them only over https)",
    )
    redis_url: str | None = Field(
        None,
        max_length=2000,
        description="redis://host:port/db for background jobs through Celery (needed by"
        " --workers); $STYLESCOUT_REDIS_URL (or $STYLESCOUT_DASHBOARD__REDIS_URL) overrides it",
    )
    workers: int = Field(1, ge=1, le=64, description="worker processes (gunicorn) when > 1")
    rate_limits: RateLimitConfig = Field(
        RateLimitConfig(), description="requests one person may make on a shared dashboard"
    )


class FollowConfig(_Section):
    """Followed tags, gathered on a schedule (`stylescout follow`): a scrape of each tag when its
    run is due, a build when anything new came, and a notice when the trends of a followed tag
    change their call (a breakout, a new riser)."""

    scheduler: bool = Field(
        True,
        description="the one-process dashboard runs due followed tags itself (a team's"
        " dashboard leaves it to Celery beat in its worker; cron can call `stylescout follow run`)",
    )
    check_every_s: float = Field(
        60.0, ge=1, le=3600, description="how often the scheduler looks for due followed tags"
    )
    every_hours: float = Field(
        6.0, ge=0.25, le=24 * 28, description="how often a newly followed tag is gathered"
    )
    count: int = Field(
        100, ge=1, le=100_000, description="new images a run asks of each source at most"
    )
    build: bool = Field(True, description="rebuild the styles after a run that added images")
    webhook_url: str | None = Field(
        None,
        pattern=r"^https?://\S{1,2000}$",
        description="POST each notice here as JSON ({tag, kind, text, link}); none by default",
    )
    webhook_timeout_s: float = Field(
        5.0, gt=0, le=60, description="how long a webhook call may take"
    )


class Config(_Section):
    """All settings; `data_dir` is resolved to an absolute path on load."""

    data_dir: Path = Field(
        Path("data"),
        description="the local store (store.sqlite, images/, index/); relative to the config file",
    )
    store: StoreConfig = Field(StoreConfig(), description="where the database and images are")
    demo_feed: DemoFeedConfig = Field(
        DemoFeedConfig(), description="the local demo social-media feed"
    )
    scraper: ScraperConfig = Field(
        ScraperConfig(), description="the downloader shared by every source"
    )
    sources: dict[str, SourceConfig] = Field(
        default_factory=lambda: dict(builtin_sources()),
        description="the sites to scrape, by name: the built-in sites and those the file adds",
    )
    features: FeaturesConfig = Field(FeaturesConfig(), description="the image descriptor")
    clustering: ClusteringConfig = Field(
        ClusteringConfig(), description="the clustering into styles"
    )
    recommender: RecommenderConfig = Field(
        RecommenderConfig(), description="matching photos and ranking the nearest items"
    )
    search: SearchConfig = Field(SearchConfig(), description="how nearest items are found")
    dashboard: DashboardConfig = Field(DashboardConfig(), description="the web app")
    follow: FollowConfig = Field(FollowConfig(), description="followed tags on a schedule")

    @field_validator("sources", mode="before")
    @classmethod
    def _merge_default_sources(cls, value: Any) -> Any:
        """Entries in the file add sources; one named like a built-in overrides only the keys it
        gives (nested sections key by key, lists whole); `name: null` removes a built-in."""
        if value is None:  # `sources:` with nothing under it
            value = {}
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {k: v.model_dump() for k, v in builtin_sources().items()}
        for name, entry in value.items():
            if entry is None:
                merged.pop(name, None)
            elif name in merged and isinstance(entry, dict):
                merged[name] = deep_merge(merged[name], entry, whole=_REPLACED_WHOLE)
            else:
                merged[name] = entry
        return merged

    @model_validator(mode="after")
    def _modules_are_sites(self) -> Config:
        known = sorted(builtin_sources())
        for name, source in self.sources.items():
            if source.module is not None and source.module not in known:
                close = difflib.get_close_matches(source.module, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(
                    f"sources.{name}.module: no built-in site {source.module!r}{hint};"
                    f" built-in sites: {', '.join(known)}"
                )
        return self

    @model_validator(mode="after")
    def _challenger_differs(self) -> Config:
        mix = self.recommender.interleave
        if mix.enabled and mix.challenger == self.features.backbone:
            raise ValueError(
                f"recommender.interleave.challenger is {mix.challenger}, the main backbone too: "
                "pick another backbone to compare with"
            )
        return self

    def challenger(self) -> Config:
        """This config with the interleaving challenger as the backbone (the rest unchanged)."""
        features = self.features.model_copy(
            update={"backbone": self.recommender.interleave.challenger}
        )
        return self.model_copy(update={"features": features})

    def source(self, name: str) -> SourceConfig:
        """The named source, or a ConfigError listing the known ones."""
        return _source(self.sources, name)

    @property
    def engine(self) -> EngineSettings:
        """The style engine's part of these settings."""
        return EngineSettings.model_construct(
            data_dir=self.data_dir,
            store=self.store,
            features=self.features,
            clustering=self.clustering,
            search=self.search,
            recommender=self.recommender,
        )

    @property
    def scraping(self) -> ScrapeSettings:
        """The scraper's part of these settings."""
        return ScrapeSettings.model_construct(
            data_dir=self.data_dir, store=self.store, scraper=self.scraper, sources=self.sources
        )


def _source(sources: dict[str, SourceConfig], name: str) -> SourceConfig:
    try:
        return sources[name]
    except KeyError:
        known = ", ".join(sorted(sources))
        close = difflib.get_close_matches(name, list(sources), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"unknown source {name!r}{hint}; configured sources: {known}") from None


class StorePlace(Protocol):
    """Where a store is: `Config` and every part's settings say it alike."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def store(self) -> StoreConfig: ...


class EngineSettings(_Section):
    """What the style engine is handed (`Config.engine`): where the store is, the features, the
    clustering, the search and the recommender; nothing of the scraper or the dashboard."""

    data_dir: Path
    store: StoreConfig
    features: FeaturesConfig
    clustering: ClusteringConfig
    search: SearchConfig
    recommender: RecommenderConfig

    def challenger(self) -> EngineSettings:
        """These settings with the interleaving challenger as the backbone."""
        features = self.features.model_copy(
            update={"backbone": self.recommender.interleave.challenger}
        )
        return self.model_copy(update={"features": features})


class ScrapeSettings(_Section):
    """What the scraper is handed (`Config.scraping`): where the store is, the scraper's bounds
    and the sources; nothing of the engine or the dashboard."""

    data_dir: Path
    store: StoreConfig
    scraper: ScraperConfig
    sources: dict[str, SourceConfig]

    def source(self, name: str) -> SourceConfig:
        """The named source, or a ConfigError listing the known ones."""
        return _source(self.sources, name)


SITES_ENTRY_POINT = "stylescout.sites"  # each names a function giving {name: SourceConfig}


@cache
def builtin_sources() -> dict[str, SourceConfig]:
    """The built-in sites' entries, from the installed packages' `stylescout.sites` entry points
    (StyleScout's own: `scraper.sources.sites`), so the core never imports the scraper."""
    found: dict[str, SourceConfig] = {}
    for point in entry_points(group=SITES_ENTRY_POINT):
        try:
            offered = point.load()()
        except Exception as exc:  # a broken plug-in must not stop every command
            log.warning("sites from %s not loaded: %s", point.value, exc)
            continue
        for name, entry in offered.items():
            if isinstance(entry, SourceConfig):
                found.setdefault(name, entry)
    if not found:
        log.warning(
            "no built-in sites found: install StyleScout (make setup, or pip install .) so that"
            " its sites are registered"
        )
    return found


_REPLACED_WHOLE = frozenset({"params"})  # an entry's query parameters are all its own


def deep_merge(
    base: dict[str, Any], override: dict[str, Any], whole: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """`base` with `override`'s keys put in; mappings in both are merged the same way, except
    the keys in `whole`, which are replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in whole:
            out[key] = deep_merge(out[key], value, whole)
        else:
            out[key] = value
    return out
