"""The package list for setuptools (the rest is in pyproject.toml).

A checkout keeps the dashboard's CSS in the top-level `assets/` folder; a wheel ships it inside
the dashboard package as `dash_app/assets`, which needs a package-dir mapping that pyproject.toml
cannot combine with package discovery.
"""

from setuptools import find_packages, setup

PARTS = ["stylescout", "store", "scraper", "clustering", "dash_app", "sandbox"]

setup(
    packages=[*find_packages(include=[f"{p}*" for p in PARTS]), "dash_app.assets"],
    package_dir={"dash_app.assets": "assets"},
)
