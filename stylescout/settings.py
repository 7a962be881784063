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
        description="A SQLite file (default: data_dir/store.sqlite) or postgresql://user@host/db;"
        " $STYLESCOUT_STORE_URL (or $STYLESCOUT_STORE__URL) overrides it.",
    )
    busy_timeout_ms: int = Field(10_000, ge=0, description="How long a writer waits for a lock.")
    images_url: str | None = Field(
        None,
        max_length=2000,
        description="The image folder (default: data_dir/images), or an fsspec URL such as"
        " s3://bucket/prefix (needs `make setup-scale`); $STYLESCOUT_IMAGES_URL (or"
        " $STYLESCOUT_STORE__IMAGES_URL) overrides it.",
    )
    images_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options for the fsspec filesystem of images_url (e.g. endpoint_url, key,"
        " secret); credentials otherwise come from the usual AWS variables and files.",
        repr=False,  # may hold a secret
    )


class DemoFeedConfig(_Section):
    """The local social-media-like site used by `make demo` and the tests."""

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    seed: int = 7
    posts_per_style: int = Field(200, ge=25, le=5000)
    page_size: int = Field(24, ge=20, le=200)
    image_width: int = Field(320, ge=256, le=2048)
    image_height: int = Field(400, ge=256, le=2048)
    weeks: int = Field(12, ge=2, le=104)
    end_date: dt.date = dt.date(2026, 11, 15)
    repost_rate: float = Field(0.08, ge=0.0, le=0.5)


class ScraperConfig(_Section):
    """The downloader shared by every source."""

    default_source: str | None = Field(
        None, description="used when no --source is given (the demo commands make it demo)"
    )
    workers: int = Field(8, ge=1, le=64, description="parallel image downloads")
    connect_timeout_s: float = Field(5.0, gt=0, le=120)
    read_timeout_s: float = Field(15.0, gt=0, le=600)
    retries: int = Field(3, ge=0, le=10, description="retries on 429/5xx and connection errors")
    backoff_s: float = Field(0.3, ge=0, le=30, description="exponential backoff factor")
    max_retry_after_s: float = Field(30.0, ge=0, le=600, description="longest Retry-After obeyed")
    max_redirects: int = Field(5, ge=0, le=30)
    max_bytes: int = Field(20_000_000, ge=1024, description="largest image body accepted")
    max_pixels: int = Field(40_000_000, ge=10_000, description="largest width x height decoded")
    near_duplicate_distance: int = Field(
        10, ge=0, le=32, description="phash bits for a near-duplicate candidate; 0 = exact only"
    )
    user_agent: str = "StyleScout/0.1 (+https://github.com/stylescout/stylescout)"


class Selectors(_Section):
    """CSS selectors for one site's posts; `css@attr` reads an attribute instead of the text."""

    post: str = "article"
    image: str = "img"
    link: str = "a[href]"
    caption: str = ".caption"
    time: str = "time"
    likes: str = ".likes"


class FieldPaths(_Section):
    """Where a post's parts are in one item of an API answer.

    A path is dotted keys with `[]` for every element of a list: `media_attachments[].url`,
    `photos[].original_size.url`. `image` lists paths tried in order: the first that gives any
    URL wins (e.g. `url_b` then `url_l`). `post_url_template` builds the link from fields instead,
    e.g. `https://www.flickr.com/photos/{owner}/{id}`.
    """

    image: list[str] = Field(default_factory=lambda: ["image"], min_length=1)
    post_url: str | None = "url"
    post_url_template: str | None = None
    text: str | None = None
    text_is_html: bool = True
    time: str | None = None
    likes: str | None = None
    tags: str | None = Field(None, description="a list of tags, or one space-separated string")


class PagingConfig(_Section):
    """How an API source asks for the next page.

    `link`: the `Link: <...>; rel="next"` header. `cursor`: the answer's `field` sent back as
    `param`. `max_id`: `field` of the last item sent back as `param` (Pixelfed's `max_id`,
    Tumblr's `before` timestamp). `page`: `param` counts up, to the answer's `total_field` when
    given. `none`: one request.
    """

    kind: Literal["none", "link", "cursor", "max_id", "page"] = "none"
    param: str | None = None
    field: str | None = None
    total_field: str | None = None

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

    env: str | None = None
    file: Path | None = None
    send: Literal["bearer", "param", "login"] = "bearer"
    param: str | None = None
    required: bool = False
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

    params: dict[str, str] = Field(default_factory=dict)
    items: str = Field("", description="path of the list of posts; '' = the answer itself")
    fields: FieldPaths = FieldPaths()
    paging: PagingConfig = PagingConfig()
    credential: CredentialConfig | None = None
    max_images_per_post: int = Field(4, ge=1, le=100)
    max_response_bytes: int = Field(5_000_000, ge=1024, le=200_000_000)
    max_json_depth: int = Field(64, ge=4, le=1000)
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


class SourceConfig(_Section):
    """A site to scrape. A new site is one of these in config.yaml, not new code.

    URL templates take `{tag}` (and `{page}` for `page_url`); `{base_url}` stands for the
    source's `base_url`. `api` sources may name a built-in site as `module` to read with that
    site's own source class (e.g. another Mastodon-like service: `module: mastodon`). The
    built-in entries come from the installed sites (`builtin_sources`); the demo feed's sources
    are added by the demo commands.
    """

    kind: Literal["browser", "html", "api"] = "html"
    url: str
    page_url: str | None = None
    base_url: str | None = Field(None, description="e.g. a local replica or your own mirror")
    instances: list[str] = Field(
        default_factory=list, description="mastodon: instance hosts walked in turn"
    )
    module: str | None = Field(
        None, description="a built-in site whose source class reads this entry (e.g. mastodon)"
    )
    api: ApiConfig | None = None
    next_selector: str = 'a[rel="next"]'
    selectors: Selectors = Selectors()
    enabled: bool = True
    html_fallback: bool = False
    robots: bool = True
    allow_private_network: bool = False
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="host:port pairs reachable even when private (e.g. your own mirror)",
    )
    host_spacing_s: float = Field(0.0, ge=0, le=60, description="pause between requests to a host")
    max_pages: int = Field(100, ge=1, le=10_000)
    max_scrolls_without_new: int = Field(3, ge=1, le=50)
    scroll_wait_s: float = Field(4.0, gt=0, le=60)
    cookie_name: str | None = None
    cookie_env: str | None = None
    cookie_file: Path | None = None

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
    CNN features; on by default because it measurably wins (see BENCHMARKS.md)."""

    enabled: bool = True
    bins: int = Field(8, ge=2, le=16, description="bins per RGB channel")
    weight: float = Field(0.8, ge=0, le=10, description="its weight against the CNN part")
    background_threshold: int = Field(235, ge=0, le=256, description="256 keeps every pixel")


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
    seed: int = 7


class FeaturesConfig(_Section):
    """The image descriptor: a Keras backbone, pooled, standardised, plus the colour part."""

    backbone: Literal["resnet50", "resnet101", "densenet121", "inception_v3"] = "resnet50"
    weights: str = Field("auto", description="auto | imagenet | none | path to a .h5 file")
    input_size: int = Field(224, ge=32, le=1024)
    pooling: Literal["avg", "max"] = "max"
    pad: bool = Field(True, description="keep the aspect ratio and pad (else squash)")
    pad_colour: tuple[int, int, int] = (255, 255, 255)
    batch_size: int = Field(32, ge=1, le=512)
    standardise: bool = Field(True, description="z-score each dimension over the store")
    seed: int = Field(7, description="seed of the random weights when ImageNet is unavailable")
    colour: ColourConfig = ColourConfig()
    space: Literal["learned", "raw"] = Field(
        "learned", description="learn the space from the store's tags (raw: the descriptor)"
    )
    learning: LearningConfig = LearningConfig()
    engine: Literal["local", "ray"] = Field(
        "local", description="where features are extracted: this process, or Ray Data actors"
    )
    ray_address: str | None = Field(
        None, max_length=500, description="a Ray cluster to join ('auto'); none: start one here"
    )
    ray_actors: int = Field(2, ge=1, le=1024, description="Ray actors, each with one model")
    ray_cpus: int | None = Field(None, ge=1, le=1024, description="CPUs of a Ray started here")


class ClusteringConfig(_Section):
    """SciPy hierarchical clustering into styles."""

    method: Literal["ward", "average", "complete", "single", "weighted", "centroid", "median"] = (
        "ward"
    )
    n_styles: int | None = Field(12, ge=1, le=500, description="target number of styles")
    distance_threshold: float | None = Field(None, gt=0, description="cut height instead")
    merge_threshold: float = Field(0.15, ge=0, description="merge styles with closer centroids")
    min_size: int = Field(5, ge=1, description="smaller styles join their nearest neighbour")
    exact_limit: int = Field(20_000, ge=10, description="above: linkage on k-means centroids")
    micro_clusters: int = Field(1_000, ge=10, le=20_000)
    pca_dims: int = Field(128, ge=2, le=4096, description="dimensions the linkage works in")
    representatives: int = Field(6, ge=1, le=50)
    seed: int = 7


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
    hnsw_m: int = Field(32, ge=4, le=128)
    ef_search: int = Field(128, ge=1, le=4096)
    train_size: int = Field(64_000, ge=1_000, le=2_000_000, description="IVF training sample")
    recall_queries: int = Field(200, ge=10, le=10_000, description="the build's recall check")


class RecommenderConfig(_Section):
    """Matching a person's photos and the nearest items."""

    k: int = Field(10, ge=1, le=200)
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
    interleave: InterleaveConfig = InterleaveConfig()


class DashboardConfig(_Section):
    """The Dash web app."""

    host: str = "127.0.0.1"
    port: int = Field(8050, ge=0, le=65535)
    title: str = "StyleScout"
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


class Config(_Section):
    """All settings; `data_dir` is resolved to an absolute path on load."""

    data_dir: Path = Path("data")
    store: StoreConfig = StoreConfig()
    demo_feed: DemoFeedConfig = DemoFeedConfig()
    scraper: ScraperConfig = ScraperConfig()
    sources: dict[str, SourceConfig] = Field(default_factory=lambda: dict(builtin_sources()))
    features: FeaturesConfig = FeaturesConfig()
    clustering: ClusteringConfig = ClusteringConfig()
    recommender: RecommenderConfig = RecommenderConfig()
    search: SearchConfig = SearchConfig()
    dashboard: DashboardConfig = DashboardConfig()

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
