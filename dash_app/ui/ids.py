"""Every component id of the dashboard, defined once: pages, callbacks and shared components
name them from here, so a renamed id cannot leave a callback listening to nothing.

Pattern-matching ids use these as their `type` (`{"type": RATE, "image": 3}`); the browser tests
find the same elements by the same strings (`#upload`).
"""

# dash_app/app.py
APP_TOKEN = "app-token"
SIGNED_IN_AS = "signed-in-as"
USER_ID = "user-id"

# dash_app/pages/discover.py
CLEAR_PHOTOS = "clear-photos"
DISCOVER_LINK = "discover-link"
DISCOVER_MESSAGE = "discover-message"
DISCOVER_RESULT = "discover-result"
INTERLEAVED_NOTE = "interleaved-note"
ITEMS = "items"
MY_PHOTOS = "my-photos"
PHOTO_STRIP = "photo-strip"
PICK = "pick"
PICKER = "picker"
RATE = "rate"
RATED = "rated"
RATINGS_USED = "ratings-used"
REFRESH_RECS = "refresh-recs"
REMOVE_PHOTO = "remove-photo"
SHOW_RATED = "show-rated"
SHUFFLE_PICKS = "shuffle-picks"
UPLOAD = "upload"
UPLOAD_MESSAGES = "upload-messages"

# dash_app/pages/feedback.py
BACKBONES = "backbones"
FEEDBACK_SUMMARY = "feedback-summary"
NO_COMPARISON = "no-comparison"
NO_RATINGS = "no-ratings"
ONLINE = "online"
ONLINE_EMPTY = "online-empty"
ONLINE_OFF = "online-off"
ONLINE_WAITING = "online-waiting"

# dash_app/pages/overview.py
EMPTY_STORE = "empty-store"
RUNS_EMPTY = "runs-empty"
RUNS_TABLE = "runs-table"
TOP_TAGS = "top-tags"

# dash_app/pages/scrape.py
SCRAPE_CANCEL = "scrape-cancel"
SCRAPE_CANCEL_NOTE = "scrape-cancel-note"
SCRAPE_COUNT = "scrape-count"
SCRAPE_COUNTS = "scrape-counts"
SCRAPE_DONE = "scrape-done"
SCRAPE_JOB = "scrape-job"
SCRAPE_PROGRESS = "scrape-progress"
SCRAPE_RESULT = "scrape-result"
SCRAPE_SOURCE = "scrape-source"
SCRAPE_STAGE = "scrape-stage"
SCRAPE_START = "scrape-start"
SCRAPE_STYLES = "scrape-styles"
SCRAPE_TAG = "scrape-tag"

# dash_app/pages/styles.py
BROWSE_SOURCE = "browse-source"
BROWSE_STYLE = "browse-style"
GALLERY_ITEMS = "gallery-items"
GALLERY_NAME = "gallery-name"
MAP_TOOLTIP = "map-tooltip"
NO_INDEX = "no-index"
STYLES_SOURCES = "styles-sources"
STYLES_TITLE = "styles-title"
STYLE_GALLERY = "style-gallery"
STYLES_LINK = "styles-link"
STYLE_MAP = "style-map"
STYLE_SIZES = "style-sizes"
STYLE_SPACE = "style-space"

# dash_app/pages/trends.py
CSV_LINK = "csv-link"
EMERGING_VIEW = "emerging-view"
INTEREST_NOTE = "interest-note"
INTEREST_VIEW = "interest-view"
RISING_ROW = "rising-row"
RISING_TABLE = "rising-table"
SITES_DISAGREE = "sites-disagree"
SITES_NOTE = "sites-note"
TAG_TREND = "tag-trend"
TAG_TREND_NOTE = "tag-trend-note"
TAG_TREND_RECORD = "tag-trend-record"
TAG_TREND_TABLE = "tag-trend-table"
TAG_TREND_VIEW = "tag-trend-view"
TREND_FOLLOW = "trend-follow"
TREND_LINK = "trend-link"
TREND_NOTE = "trend-note"
TREND_SOURCE = "trend-source"
TREND_SOURCES_NOTE = "trend-sources-note"
TREND_TAG = "trend-tag"
TREND_VIEW = "trend-view"

# dash_app/ui/components.py
HEADER_COUNTS = "header-counts"
ITEM = "item"
MODEL_KEY = "model-key"
STYLE_CARD = "style-card"
STYLE_NAME = "style-name"
STYLE_SCORE = "style-score"
WEIGHTS_BANNER = "weights-banner"
