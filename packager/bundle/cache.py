"""The cache helpers, where bundle's modules have always imported them from.

They live in packager.cache, at the bottom layer, so the portable runtime builder (below
bundle) shares them.
"""

from packager.cache import cache_key, file_identity, new_entry_dir, publish, publish_file

__all__ = ["cache_key", "file_identity", "new_entry_dir", "publish", "publish_file"]
